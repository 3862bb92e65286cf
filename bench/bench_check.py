"""Benchmark: `credlib check` (the pre-commit hook) on a 1,000-credential file (issue 6).

- `credlib check FILE` takes at most 3x the time of `sops filestatus FILE` on the same file — sops' own
  cheapest look at a file (it parses it and reports whether it is encrypted), both fresh processes run
  interleaved (7 rounds after a warm-up) in the same run; the ratio compares the best run of each;
- the same for CPU time (user + system), which other load on the machine disturbs less;
- reading the file, in-process: the line reader `check` uses for sops-written YAML takes at most 0.3x
  the time of ruamel's pure-Python round-trip loader (what `check` used before, and still uses for files
  outside the subset sops writes), best of 5 each.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import VENV_BIN, bench_env, interleaved, make_encrypted_file, result

N_CREDENTIALS = 1000
MAX_CHECK_RATIO = 3.0
MAX_READER_RATIO = 0.3


def _best_of(fn: Any, repeats: int = 5) -> float:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return min(runs)


def _reader_times(text: str) -> tuple[float, float]:
    from ruamel.yaml import YAML

    from credlib.gitops import blockyaml

    fast = _best_of(lambda: blockyaml.parse(text))
    ruamel = _best_of(lambda: YAML(typ="rt", pure=True).load(text))
    return fast, ruamel


def run() -> list[dict[str, Any]]:
    from credlib.sops import find_sops

    with tempfile.TemporaryDirectory(prefix="credlib-bench-check-") as tmp:
        root = Path(tmp)
        env = bench_env(root)
        path = make_encrypted_file(root, env, N_CREDENTIALS)
        times = interleaved(
            {
                "sops": [find_sops(), "filestatus", str(path)],
                "check": [str(VENV_BIN / "credlib"), "check", str(path)],
            },
            env=env,
            cwd=root,
        )
        text = path.read_text(encoding="utf-8")
        fast, ruamel = _reader_times(text)
        size_kib = path.stat().st_size // 1024
    workload = f"{N_CREDENTIALS} credentials, {size_kib} KiB encrypted file"
    sops, check = times["sops"], times["check"]
    return [
        result(
            "check vs sops filestatus",
            check.best_s,
            baseline=sops.best_s,
            limit=MAX_CHECK_RATIO,
            unit="s",
            note=f"{workload}; median {check.median_s:.3f} s vs sops median {sops.median_s:.3f} s",
        ),
        result(
            "check vs sops filestatus, CPU time",
            check.cpu_s,
            baseline=sops.cpu_s,
            limit=MAX_CHECK_RATIO,
            unit="s",
            note="user+system seconds (median)",
        ),
        result(
            "line reader vs ruamel round-trip load",
            fast,
            baseline=ruamel,
            limit=MAX_READER_RATIO,
            unit="s",
            note=f"in-process, best of 5; {workload}",
        ),
    ]


if __name__ == "__main__":
    rows = run()
    print(json.dumps(rows, indent=2))
    sys.exit(0 if all(r["passed"] for r in rows) else 1)
