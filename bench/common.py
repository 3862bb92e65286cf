"""Shared helpers for the benchmarks run by `make bench` (bench/run.py).

The row protocol: every ``bench/bench_*.py`` module has ``run() -> list[dict]``; each dict is one
measurement and must carry ``passed`` (bool) and a name (``name``, or ``bench`` in older modules).
``result()`` builds the canonical row: name, value, baseline, ratio, limit, passed, note — extra keys
are allowed and shown as they are.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VENV_BIN = Path(sys.executable).parent


def result(
    name: str,
    value: float,
    *,
    limit: float,
    unit: str,
    baseline: float | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One row. With a baseline, ``ratio = value / baseline`` is compared with ``limit``; without one,
    ``value`` itself is."""
    ratio = value / baseline if baseline else None
    measured = ratio if ratio is not None else value
    return {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "baseline": round(baseline, 4) if baseline is not None else None,
        "ratio": round(ratio, 3) if ratio is not None else None,
        "limit": limit,
        "passed": measured <= limit,
        "note": note,
    }


def measure(
    argv: list[str], *, env: dict[str, str], cwd: Path, ok: tuple[int, ...] = (0,)
) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process (stdout discarded, stderr checked)."""
    wall, rss, _ = measure_full(argv, env=env, cwd=cwd, ok=ok)
    return wall, rss


def measure_full(
    argv: list[str], *, env: dict[str, str], cwd: Path, ok: tuple[int, ...] = (0,), tty: bool = False
) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + system, the process and the children it
    waited for — so `credlib ls` counts its sops child) of one fresh process. ``tty``: its stdout is a
    terminal (a pseudo-terminal drained as fast as it is written), as when a person runs it."""
    import threading

    master = slave = -1
    if tty:
        import pty

        master, slave = pty.openpty()
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=slave if tty else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    drain = None
    if tty:
        os.close(slave)
        drain = threading.Thread(target=_drain, args=(master,), daemon=True)
        drain.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if drain is not None:
        drain.join(timeout=10)
        os.close(master)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(argv[:4])} … exited {proc.returncode}: {err[-500:]}")
    rss_mb = usage.ru_maxrss / (1024.0 * 1024.0) if sys.platform == "darwin" else usage.ru_maxrss / 1024.0
    return wall, rss_mb, usage.ru_utime + usage.ru_stime


def _drain(fd: int) -> None:
    """Read a pseudo-terminal until its writer is gone (EIO on Linux, b"" elsewhere)."""
    while True:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return


def median_of(
    argv: list[str], *, env: dict[str, str], cwd: Path, repeats: int = 5, warmup: int = 1
) -> tuple[float, float]:
    """Median wall time and the maximum peak RSS over ``repeats`` runs (after ``warmup`` unmeasured ones,
    so the page cache is warm for every contender alike)."""
    for _ in range(warmup):
        measure(argv, env=env, cwd=cwd)
    runs = [measure(argv, env=env, cwd=cwd) for _ in range(repeats)]
    return statistics.median(w for w, _ in runs), max(r for _, r in runs)


def interleaved(
    commands: dict[str, list[str]],
    *,
    env: dict[str, str],
    cwd: Path,
    repeats: int = 7,
    warmup: int = 1,
    ttys: frozenset[str] = frozenset(),
) -> dict[str, Timing]:
    """Run every command in turn, ``repeats`` rounds (after ``warmup`` unmeasured rounds), so a change
    in machine load hits all of them alike. Returns name -> Timing (best and median wall s, max RSS MB,
    median CPU s). Ratios use the best run of each: the least-disturbed measurement of the same work."""
    for _ in range(warmup):
        for argv in commands.values():
            measure(argv, env=env, cwd=cwd)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    rss: dict[str, float] = dict.fromkeys(commands, 0.0)
    for _ in range(repeats):
        for name, argv in commands.items():
            wall, peak, cpu = measure_full(argv, env=env, cwd=cwd, tty=name in ttys)
            walls[name].append(wall)
            cpus[name].append(cpu)
            rss[name] = max(rss[name], peak)
    return {
        name: Timing(min(w), statistics.median(w), rss[name], statistics.median(cpus[name]))
        for name, w in walls.items()
    }


@dataclass(frozen=True)
class Timing:
    best_s: float
    median_s: float
    rss_mb: float
    cpu_s: float


def bench_env(root: Path) -> dict[str, str]:
    """An isolated environment: a throwaway age identity, private HOME and state dirs."""
    import pyrage

    ident = pyrage.x25519.Identity.generate()
    key_file = root / "age" / "keys.txt"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(f"# public key: {ident.to_public()}\n{ident}\n", encoding="utf-8")
    key_file.chmod(0o600)
    (root / "home").mkdir(exist_ok=True)
    # PYTHONDONTWRITEBYTECODE (set in some dev shells) would make every measured run compile credlib from
    # source, which an installed credlib never does (pip compiles the bytecode at install time): the
    # benchmarks measure the installed case, with credlib's bytecode compiled once here.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SOPS_", "CREDLIB_", "AGE_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    compile_bytecode()
    env.update(
        {
            "SOPS_AGE_KEY_FILE": str(key_file),
            "SOPS_DISABLE_VERSION_CHECK": "1",
            "CREDLIB_STATE_DIR": str(root / "state"),
            "CREDLIB_CONFIG_DIR": str(root / "config"),
            "HOME": str(root / "home"),
            "XDG_CONFIG_HOME": str(root / "home" / ".config"),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "AGE_RECIPIENT_FOR_BENCH": str(ident.to_public()),
        }
    )
    return env


def compile_bytecode() -> None:
    """credlib's bytecode as `pip install` leaves it (idempotent: up-to-date files are skipped)."""
    import compileall

    compileall.compile_dir(str(ROOT / "credlib"), quiet=1)


def credentials_document(n: int) -> dict[str, Any]:
    """``n`` realistic credentials with runtime-generated fake keys."""
    types = ("openai-compatible",) * 7 + ("anthropic", "openai", "google")
    creds = []
    for i in range(n):
        creds.append(
            {
                "name": f"Relay {i:04d}",
                "base_url": f"https://relay-{i % 200}.example.com/team{i}",
                "api_key": "sk-" + secrets.token_urlsafe(32),
                "api_type": types[i % len(types)],
                "tags": ["work" if i % 2 else "personal", f"group{i % 10}"],
                "notes": f"fake key for benchmarks #{i}",
                "models": ["gpt-4o-mini", "gpt-4.1"],
            }
        )
    return {"version": 1, "credentials": creds}


def make_encrypted_file(root: Path, env: dict[str, str], n: int, name: str = "credentials.yaml") -> Path:
    """An ``n``-credential file encrypted with the real sops (plaintext only on its stdin)."""
    from credlib.initproject import sops_config_text
    from credlib.sops import find_sops

    (root / ".sops.yaml").write_text(sops_config_text([env["AGE_RECIPIENT_FOR_BENCH"]]), encoding="utf-8")
    target = root / name
    proc = subprocess.run(
        [
            find_sops(),
            "encrypt",
            "--filename-override",
            str(target),
            "--input-type",
            "json",
            "--output-type",
            "yaml",
        ],
        input=json.dumps(credentials_document(n)).encode(),
        capture_output=True,
        cwd=root,
        env=env,
        check=False,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode("utf-8", "replace")[-500:])
    target.write_bytes(proc.stdout)
    return target
