"""Benchmark: `verify` of 300 credentials spread over 30 local relay origins (50 ms latency each),
limits concurrency 2 / burst 4 / per_minute 600.

Pass criteria (issue 3): wall time (median of 3 runs) at most 1.15x the limiter's theoretical
bound for the same workload (``credlib.net.limiter.theoretical_bound``, computed in the same run
from the requests actually made), and peak memory (max RSS of the process running verify) under 150 MB.

Measured in-process around ``verify_many`` (the CLI's verify path minus decrypting the file, which is
the store benchmark's subject). The 30 relays run in a child process so their threads do not compete
with the engine for the GIL and their memory is not counted as credlib's. Rows follow bench/common.py.
"""

from __future__ import annotations

import asyncio
import json
import resource
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, result

N_ORIGINS = 30
PER_ORIGIN = 10
LATENCY_S = 0.05
LIMITS = {"concurrency": 2, "burst": 4, "per_minute": 600}
MAX_RATIO = 1.15
MAX_RSS_MB = 150.0
REPEATS = 3  # the median wall time is reported; every run is listed in the note

_RELAY_HOST = f"""
import sys
from credlib.relay import Relay
relays = [
    Relay(latency_s={LATENCY_S}, name=f"bench-{{i}}", accept_any_key=True, log_bodies=False).start()
    for i in range({N_ORIGINS})
]
for r in relays:
    print(r.url, flush=True)
sys.stdin.read()  # until the parent closes our stdin
for r in relays:
    r.stop()
"""


def _start_relays() -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _RELAY_HOST],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    urls = [proc.stdout.readline().strip() for _ in range(N_ORIGINS)]
    if not all(u.startswith("http://127.0.0.1:") for u in urls):
        proc.kill()
        raise RuntimeError(f"relay host did not start: {urls}")
    return proc, urls


def _stop_relays(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run() -> list[dict[str, Any]]:
    from credlib.model import Credential, Limits
    from credlib.net import Engine
    from credlib.net.limiter import theoretical_bound
    from credlib.probes.verify import verify_many

    limits = Limits(**LIMITS)
    proc, urls = _start_relays()
    walls: list[float] = []
    try:
        for _ in range(REPEATS):
            creds = [
                Credential(
                    name=f"bench-{o}-{i}",
                    id=f"bench-{o}-{i}",
                    base_url=url,
                    api_key="sk-" + secrets.token_hex(16),
                    models=("gpt-4o-mini",),
                )
                for o, url in enumerate(urls)
                for i in range(PER_ORIGIN)
            ]

            async def go(batch: list[Credential]) -> tuple[float, list[Any]]:
                # A fresh engine per run: its limiter starts with full buckets, as a CLI run does.
                async with Engine(limits, timeout_s=20) as engine:
                    started = time.perf_counter()
                    verified = await verify_many(engine, batch)
                    return time.perf_counter() - started, verified

            wall, results = asyncio.run(go(creds))
            walls.append(wall)
    finally:
        _stop_relays(proc)

    wall = statistics.median(walls)
    ok = sum(1 for r in results if r.ok)
    per_origin: dict[str, int] = {}
    for cred, verified in zip(creds, results, strict=True):
        made = sum(1 for c in verified.checks if c.latency_ms is not None)
        per_origin[cred.base_url] = per_origin.get(cred.base_url, 0) + made
    bound = theoretical_bound(list(per_origin.values()), LATENCY_S, limits)
    rss = _rss_mb()
    workload = (
        f"{len(creds)} credentials over {N_ORIGINS} origins, {LATENCY_S * 1000:.0f} ms latency, limits "
        f"{LIMITS['concurrency']}/{LIMITS['burst']}/{LIMITS['per_minute']}; {sum(per_origin.values())} "
        f"requests, {ok} ok; median of runs {', '.join(f'{w:.2f}' for w in walls)} s"
    )
    time_row = result(
        "verify wall time vs limiter bound", wall, limit=MAX_RATIO, unit="s", baseline=bound, note=workload
    )
    time_row["passed"] = time_row["passed"] and ok == len(creds)
    rss_row = result(
        "verify peak memory", rss, limit=MAX_RSS_MB, unit="MB", note="max RSS of the verifying process"
    )
    return [time_row, rss_row]


if __name__ == "__main__":
    rows = run()
    print(json.dumps(rows, indent=2))
    sys.exit(0 if all(r["passed"] for r in rows) else 1)
