"""Benchmark: the store on a 1,000-credential file (issue 2).

- `credlib ls` takes at most 1.5x the time of `sops decrypt --output-type json` on the same file
  (both fresh processes, median of 5 after a warm-up, measured in the same run);
- `credlib --help` at most 150 ms;
- peak memory of `credlib ls` under 120 MB (max RSS of its process tree, which includes the sops
  child doing the decryption; sops' own peak is shown beside it).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import VENV_BIN, bench_env, make_encrypted_file, median_of, result

N_CREDENTIALS = 1000
MAX_LS_RATIO = 1.5
MAX_HELP_S = 0.150
MAX_RSS_MB = 120.0


def run() -> list[dict[str, Any]]:
    from credlib.sops import find_sops

    with tempfile.TemporaryDirectory(prefix="credlib-bench-store-") as tmp:
        root = Path(tmp)
        env = bench_env(root)
        path = make_encrypted_file(root, env, N_CREDENTIALS)
        credlib = str(VENV_BIN / "credlib")
        decrypt_s, sops_rss = median_of(
            [find_sops(), "decrypt", "--output-type", "json", str(path)], env=env, cwd=root
        )
        ls_s, ls_rss = median_of([credlib, "-f", str(path), "ls"], env=env, cwd=root)
        ls_json_s, ls_json_rss = median_of([credlib, "-f", str(path), "ls", "--json"], env=env, cwd=root)
        help_s, _ = median_of([credlib, "--help"], env=env, cwd=root)
        size_kib = path.stat().st_size // 1024
    workload = f"{N_CREDENTIALS} credentials, {size_kib} KiB encrypted file"
    return [
        result(
            "ls vs sops decrypt",
            ls_s,
            baseline=decrypt_s,
            limit=MAX_LS_RATIO,
            unit="s",
            note=f"{workload}; sops decrypt peak RSS {sops_rss:.0f} MB",
        ),
        result(
            "ls --json vs sops decrypt",
            ls_json_s,
            baseline=decrypt_s,
            limit=MAX_LS_RATIO,
            unit="s",
            note=workload,
        ),
        result("credlib --help", help_s, limit=MAX_HELP_S, unit="s"),
        result(
            "ls peak RSS",
            max(ls_rss, ls_json_rss),
            limit=MAX_RSS_MB,
            unit="MB",
            note=f"{workload}; process tree incl. sops (sops alone: {sops_rss:.0f} MB)",
        ),
    ]


if __name__ == "__main__":
    rows = run()
    print(json.dumps(rows, indent=2))
    sys.exit(0 if all(r["passed"] for r in rows) else 1)
