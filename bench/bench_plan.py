"""Benchmark: `credlib plan --offline` over 1,000 credentials x 6 file targets.

Pass criteria (issue 5): wall time of `plan --offline` at most 3x the wall time of
`sops decrypt --output-type json` on the same file, measured in the same run (median of REPEATS runs
each, both as fresh processes), and peak memory (max RSS of the credlib process) under 150 MB.

Two plans are measured: "fresh" (no target file exists yet: every target is created, with a full
diff) and "steady" (after an apply: nothing to change — the run a pre-commit hook or cron makes).
The six targets mix the formats users have: JSON (claude-code-router, opencode, kilo-code), dotenv,
and YAML (litellm, cliproxyapi). ``run()`` returns one row per measurement; running the file prints
them.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

N_CREDENTIALS = 1000
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
MAX_RATIO = 3.0
MAX_RSS_MB = 150.0
TARGETS = (
    ("ccr", "claude-code-router", "out/ccr/config.json"),
    ("opencode", "opencode", "out/opencode/opencode.json"),
    ("kilo", "kilo-code", "out/kilo/kilo-settings.json"),
    ("env", "dotenv", "out/app/.env"),
    ("litellm", "litellm", "out/litellm/config.yaml"),
    ("cliproxy", "cliproxyapi", "out/cliproxy/config.yaml"),
)
API_TYPES = ("openai-compatible",) * 7 + ("anthropic",) * 2 + ("openai",)


def _document(root: Path) -> dict[str, Any]:
    creds = []
    for i in range(N_CREDENTIALS):
        api_type = API_TYPES[i % len(API_TYPES)]
        models = ["claude-sonnet-4-5"] if api_type == "anthropic" else ["gpt-4o-mini", "gpt-4.1"]
        creds.append(
            {
                "name": f"Relay {i:04d}",
                "base_url": f"https://relay-{i % 200}.example.com/team{i}",
                "api_key": "sk-" + secrets.token_urlsafe(32),
                "api_type": api_type,
                "tags": ["work" if i % 2 else "personal"],
                "models": models,
                "telemetry": {"method": "auto"},
            }
        )
    targets = [{"name": n, "type": t, "path": str(root / rel)} for n, t, rel in TARGETS]
    return {"version": 1, "credentials": creds, "targets": targets}


def _setup(root: Path) -> dict[str, str]:
    """A project with a real sops file encrypted to a throwaway identity; returns the environment."""
    import pyrage

    from tests.fixtures.env import encrypt_data, sops_binary

    ident = pyrage.x25519.Identity.generate()
    key_file = root / "age.txt"
    key_file.write_text(f"{ident}\n", encoding="utf-8")
    key_file.chmod(0o600)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "CREDLIB_"))},
        "SOPS_AGE_KEY_FILE": str(key_file),
        "SOPS_DISABLE_VERSION_CHECK": "1",
        "CREDLIB_STATE_DIR": str(root / "state"),
        "HOME": str(root / "home"),
        "PATH": f"{Path(sops_binary()).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        encrypt_data(root / "credentials.yaml", _document(root), [str(ident.to_public())])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return env


def _timed(argv: list[str], env: dict[str, str], cwd: Path, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code not in ok:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"{argv[-3:]} exited {code}: {err[-500:]}")
    if proc.stderr:
        proc.stderr.close()
    return wall, usage.ru_maxrss / 1024.0  # Linux: KiB


def _median(argv: list[str], env: dict[str, str], cwd: Path, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    runs = [_timed(argv, env, cwd, ok) for _ in range(REPEATS)]
    return statistics.median(w for w, _ in runs), max(r for _, r in runs)


def run() -> list[dict[str, Any]]:
    from tests.fixtures.env import sops_binary

    with tempfile.TemporaryDirectory(prefix="credlib-bench-plan-") as tmp:
        root = Path(tmp)
        env = _setup(root)
        file = str(root / "credentials.yaml")
        credlib = [sys.executable, "-m", "credlib", "-f", file]
        decrypt_s, _ = _median([sops_binary(), "decrypt", "--output-type", "json", file], env, root)
        # --detailed-exitcode: 2 proves the fresh plan saw every change, 0 that the steady one saw none.
        fresh_s, fresh_rss = _median([*credlib, "plan", "--offline", "--detailed-exitcode"], env, root, (2,))
        _timed([*credlib, "apply", "--offline", "--yes"], env, root)
        steady_s, steady_rss = _median([*credlib, "plan", "--offline", "--detailed-exitcode"], env, root, (0,))
        sizes = sum(p.stat().st_size for p in (root / "out").rglob("*") if p.is_file())

    rows = []
    for label, wall, rss in (("fresh", fresh_s, fresh_rss), ("steady", steady_s, steady_rss)):
        ratio = wall / decrypt_s
        rows.append(
            {
                "bench": f"plan-offline-{label}",
                "workload": f"{N_CREDENTIALS} credentials x {len(TARGETS)} file targets "
                f"({', '.join(t for _, t, _ in TARGETS)}); {sizes // 1024} KiB of target files",
                "sops_decrypt_s": round(decrypt_s, 3),
                "wall_s": round(wall, 3),
                "ratio": round(ratio, 2),
                "max_ratio": MAX_RATIO,
                "peak_rss_mb": round(rss, 1),
                "max_rss_mb": MAX_RSS_MB,
                "passed": ratio <= MAX_RATIO and rss < MAX_RSS_MB,
            }
        )
    return rows


if __name__ == "__main__":
    rows = run()
    print(json.dumps(rows, indent=2))
    sys.exit(0 if all(r["passed"] for r in rows) else 1)
