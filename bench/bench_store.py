"""Benchmark: the store on a 1,000-credential file (issue 2).

- `credlib ls` takes at most 1.5x the time of `sops decrypt --output-type json` on the same file,
  printing to a pipe, as `--json`, and to a terminal (a pseudo-terminal, where tables are drawn for
  people);
- `credlib --help` at most 150 ms;
- peak memory of `credlib ls` under 120 MB: the max RSS of the largest process in its tree (wait4's
  ru_maxrss), which is the sops child doing the decryption, not credlib's own Python process (about
  20 MB when measured with getrusage); sops' own peak is shown beside it.

All commands are fresh processes, run interleaved (11 rounds after a warm-up) in the same run; the
ratio compares the best run of each (the least-disturbed one), the median is shown beside it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import VENV_BIN, bench_env, interleaved, make_encrypted_file, result

N_CREDENTIALS = 1000
MAX_LS_RATIO = 1.5
MAX_HELP_S = 0.150
MAX_RSS_MB = 120.0
# Rounds of the interleaved runs: on a shared 2-core machine one in a few runs is undisturbed.
ROUNDS = 11


def run() -> list[dict[str, Any]]:
    from credlib.sops import find_sops

    with tempfile.TemporaryDirectory(prefix="credlib-bench-store-") as tmp:
        root = Path(tmp)
        env = bench_env(root)
        path = make_encrypted_file(root, env, N_CREDENTIALS)
        credlib = str(VENV_BIN / "credlib")
        times = interleaved(
            {
                "sops": [find_sops(), "decrypt", "--output-type", "json", str(path)],
                "ls": [credlib, "-f", str(path), "ls"],
                "ls_json": [credlib, "-f", str(path), "ls", "--json"],
                "ls_tty": [credlib, "-f", str(path), "ls"],
                "help": [credlib, "--help"],
            },
            env=env,
            cwd=root,
            repeats=ROUNDS,
            ttys=frozenset({"ls_tty"}),
        )
        size_kib = path.stat().st_size // 1024
    workload = f"{N_CREDENTIALS} credentials, {size_kib} KiB encrypted file"
    sops = times["sops"]

    def medians(name: str) -> str:
        return f"median {times[name].median_s:.3f} s vs sops median {sops.median_s:.3f} s"

    return [
        *(
            result(
                f"{label} vs sops decrypt",
                times[name].best_s,
                baseline=sops.best_s,
                limit=MAX_LS_RATIO,
                unit="s",
                note=f"{workload}; {medians(name)}",
            )
            for name, label in (("ls", "ls"), ("ls_json", "ls --json"), ("ls_tty", "ls on a terminal"))
        ),
        result(
            "ls vs sops decrypt, CPU time",
            times["ls"].cpu_s,
            baseline=sops.cpu_s,
            limit=MAX_LS_RATIO,
            unit="s",
            note="user+system seconds (median), incl. the sops child; insensitive to other load",
        ),
        result(
            "credlib --help",
            times["help"].best_s,
            limit=MAX_HELP_S,
            unit="s",
            note=f"median {times['help'].median_s:.3f} s",
        ),
        result(
            "ls peak RSS",
            max(times["ls"].rss_mb, times["ls_json"].rss_mb, times["ls_tty"].rss_mb),
            limit=MAX_RSS_MB,
            unit="MB",
            note=f"{workload}; the largest process of the tree (credlib or its sops child; "
            f"`sops decrypt` alone: {sops.rss_mb:.0f} MB)",
        ),
    ]


if __name__ == "__main__":
    rows = run()
    print(json.dumps(rows, indent=2))
    sys.exit(0 if all(r["passed"] for r in rows) else 1)
