"""The per-origin limiter: unit tests with a fake clock, then proof from real servers' request logs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from credlib.model import Limits
from credlib.net import Engine, Response, TokenBucket, run_sync, theoretical_bound
from tests.fixtures.net import LoopbackServer, Reply, Seen

pytestmark = pytest.mark.timeout(20)

Start = Callable[..., LoopbackServer]
# Server start times are taken in handler threads that share the GIL with the client and, on a
# busy CI machine, a CPU with other test runs: a start can be logged this late. Window checks allow
# it; the client-side check (taken at the transport, right after dispatch) allows only CLIENT_JITTER_S.
JITTER_S = 0.15
CLIENT_JITTER_S = 0.01


class RecordingTransport(httpx.AsyncHTTPTransport):
    """The real transport, noting when each request left the limiter."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.starts.append(time.monotonic())
        return await super().handle_async_request(request)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# ---- token bucket and bound (pure) -----------------------------------------------------------


def test_bucket_starts_full_and_refills_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(burst=3, per_minute=60, clock=clock)  # one token a second
    for _ in range(3):
        assert bucket.wait_time() == 0
        bucket.take()
    assert bucket.wait_time() == pytest.approx(1.0)
    clock.now += 0.25
    assert bucket.wait_time() == pytest.approx(0.75)
    clock.now += 10  # refill never exceeds the burst
    for _ in range(3):
        assert bucket.wait_time() == 0
        bucket.take()
    assert bucket.wait_time() == pytest.approx(1.0)


def test_bucket_without_a_rate_never_waits() -> None:
    bucket = TokenBucket(burst=1, per_minute=0, clock=FakeClock())
    for _ in range(10):
        bucket.take()
        assert bucket.wait_time() == 0


def test_theoretical_bound_rate_bound() -> None:
    # 24 requests, burst 4, 10/s: request 23 starts at (24 - 4) / 10 = 2 s.
    limits = Limits(concurrency=100, burst=4, per_minute=600)
    assert theoretical_bound(24, 0.05, limits) == pytest.approx(2.05)


def test_theoretical_bound_concurrency_bound() -> None:
    limits = Limits(concurrency=2, burst=100, per_minute=60_000)
    assert theoretical_bound(10, 0.2, limits) == pytest.approx(1.0, abs=0.01)


def test_theoretical_bound_mixed_and_many_origins() -> None:
    limits = Limits(concurrency=2, burst=4, per_minute=600)
    one = theoretical_bound(10, 0.05, limits)
    # 4 burst tokens but only 2 slots: 0, 0, .05, .05, then one every .1 s from .1 -> last start .6
    assert one == pytest.approx(0.65)
    assert theoretical_bound([10, 3, 10], 0.05, limits) == one  # origins run in parallel
    assert theoretical_bound(0, 0.05, limits) == 0.0
    assert theoretical_bound(20, 0.05, limits) > one


# ---- against real servers -------------------------------------------------------------------


def run_all(engine: Engine, urls: list[str], stagger_s: float = 0.0) -> list[Response]:
    async def go() -> list[Response]:
        async with engine as eng:
            tasks = []
            for url in urls:
                tasks.append(asyncio.create_task(eng.request("GET", url)))
                if stagger_s:
                    await asyncio.sleep(stagger_s)
            return list(await asyncio.gather(*tasks))

    return run_sync(go())


def max_in_flight(log: list[Seen]) -> int:
    events = sorted([(s.start, 1) for s in log] + [(s.end, -1) for s in log], key=lambda e: (e[0], e[1]))
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def assert_window_bound(times: list[float], limits: Limits, jitter: float) -> None:
    """Never more than burst + per_minute * t / 60 requests in any window of t seconds."""
    starts = sorted(times)
    rate = limits.per_minute / 60
    for i in range(len(starts)):
        for j in range(i, len(starts)):
            t = starts[j] - starts[i]
            assert j - i + 1 <= limits.burst + rate * (t + jitter), f"{j - i + 1} requests in {t:.3f} s"


def test_concurrency_is_never_exceeded(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(200, "ok", delay_s=0.15))
    limits = Limits(concurrency=2, burst=100, per_minute=60_000)
    started = time.monotonic()
    responses = run_all(Engine(limits), [server.url + f"/{i}" for i in range(10)])
    elapsed = time.monotonic() - started
    assert all(r.status == 200 for r in responses)
    assert max_in_flight(server.seen()) == 2  # reached, never exceeded
    assert elapsed >= 5 * 0.15


def test_rate_window_bound_holds_and_is_not_needlessly_slow(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(200, "ok", delay_s=0.01))
    limits = Limits(concurrency=4, burst=3, per_minute=600)  # 10/s
    n = 16
    transport = RecordingTransport()

    async def go() -> float:
        async with Engine(limits, transport=transport) as eng:
            # Open the connections first (TCP setup and a new server thread add noise to server
            # times), then let the bucket refill before the measured run.
            await asyncio.gather(
                *(eng.request("GET", server.url + "/warm") for _ in range(limits.concurrency))
            )
            await asyncio.sleep(limits.burst / 10 + 0.2)
            server.clear()
            transport.starts.clear()
            started = time.monotonic()
            await asyncio.gather(*(eng.request("GET", server.url + f"/{i}") for i in range(n)))
            return time.monotonic() - started

    elapsed = run_sync(go())
    log = server.seen()
    assert len(log) == n and len(transport.starts) == n
    assert_window_bound(transport.starts, limits, CLIENT_JITTER_S)
    assert_window_bound([s.start for s in log], limits, JITTER_S)
    bound = theoretical_bound(n, 0.01, limits)  # (16 - 3) / 10 + 0.01 = 1.31 s
    assert elapsed >= (n - limits.burst) / 10 - CLIENT_JITTER_S
    assert elapsed < bound * 1.5 + 0.3, f"{elapsed:.2f} s for a {bound:.2f} s bound"


def test_fifo_order_per_origin(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(200, "ok", delay_s=0.05))
    limits = Limits(concurrency=2, burst=1, per_minute=1500)  # a start every 40 ms
    n = 15
    run_all(Engine(limits), [server.url + f"/{i}" for i in range(n)])
    order = [int(s.path.strip("/")) for s in sorted(server.seen(), key=lambda s: s.start)]
    assert order == list(range(n))


def test_fifo_with_one_slot_and_slow_requests(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(200, "ok", delay_s=0.02))
    limits = Limits(concurrency=1, burst=100, per_minute=60_000)
    run_all(Engine(limits), [server.url + f"/{i}" for i in range(20)])
    assert [s.path for s in server.seen()] == [f"/{i}" for i in range(20)]


def test_origins_are_independent(loopback: Start) -> None:
    slow = loopback(lambda seen: Reply(200, "ok", delay_s=0.5))
    fast = loopback(lambda seen: Reply(200, "ok"))
    limits = Limits(concurrency=1, burst=100, per_minute=60_000)
    urls = [slow.url + f"/{i}" for i in range(3)] + [fast.url + f"/{i}" for i in range(5)]
    run_all(Engine(limits), urls)
    slow_first = slow.seen()[0].start
    assert all(s.end < slow_first + 0.45 for s in fast.seen())  # fast finished while slow's first ran


def test_per_origin_limits_override_the_default(loopback: Start) -> None:
    special = loopback(lambda seen: Reply(200, "ok", delay_s=0.1))
    normal = loopback(lambda seen: Reply(200, "ok", delay_s=0.1))
    engine = Engine(
        Limits(concurrency=1, burst=100, per_minute=60_000),
        origin_limits={special.url: Limits(concurrency=3, burst=100, per_minute=60_000)},
    )
    run_all(engine, [special.url + f"/{i}" for i in range(6)] + [normal.url + f"/{i}" for i in range(4)])
    assert max_in_flight(special.seen()) == 3
    assert max_in_flight(normal.seen()) == 1


def test_retry_after_pauses_only_that_origin(loopback: Start) -> None:
    calls: list[str] = []

    def limited(seen: Seen) -> Reply:
        calls.append(seen.path)
        return Reply(429, "", {"Retry-After": "2"}, delay_s=0.3) if len(calls) == 1 else Reply(200, "ok")

    a = loopback(limited)
    b = loopback(lambda seen: Reply(200, "ok"))
    # One slot, and /a0's 429 takes 0.3 s: /a1 is queued behind /a0 before that retry exists, so the
    # order below shows the retry keeping /a0's place in line.
    limits = Limits(concurrency=1, burst=100, per_minute=60_000)

    async def go() -> list[Response]:
        async with Engine(limits) as eng:
            tasks = [asyncio.create_task(eng.request("GET", a.url + "/a0"))]
            await asyncio.sleep(0.1)
            tasks.append(asyncio.create_task(eng.request("GET", a.url + "/a1")))
            for i in range(10):
                tasks.append(asyncio.create_task(eng.request("GET", b.url + f"/b{i}")))
                await asyncio.sleep(0.2)
            return list(await asyncio.gather(*tasks))

    responses = run_sync(go())
    assert all(r.status == 200 for r in responses)
    a_log = a.seen()
    first = a_log[0]
    assert [s.path for s in a_log] == ["/a0", "/a0", "/a1"]  # the retry keeps its place in line
    assert all(s.start >= first.end + 2.0 for s in a_log[1:])  # the 429 went out at first.end
    during = [s for s in b.seen() if first.end < s.start < first.end + 2.0]
    assert len(during) >= 5  # origin B kept going while A was paused
    assert responses[0].attempts == 2 and responses[0].retry_after_s is None


def test_a_cancelled_waiter_leaves_the_queue(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(200, "ok", delay_s=0.2))
    limits = Limits(concurrency=1, burst=100, per_minute=60_000)

    async def go() -> list[Response]:
        async with Engine(limits) as eng:
            first = asyncio.create_task(eng.request("GET", server.url + "/0"))
            second = asyncio.create_task(eng.request("GET", server.url + "/1"))
            third = asyncio.create_task(eng.request("GET", server.url + "/2"))
            await asyncio.sleep(0.05)
            second.cancel()
            return [await first, await third]

    responses = asyncio.run(asyncio.wait_for(go(), 5))
    assert [r.status for r in responses] == [200, 200]
    assert [s.path for s in server.seen()] == ["/0", "/2"]


def test_a_timed_out_request_frees_its_slot(loopback: Start) -> None:
    server = loopback(lambda seen: Reply(action="hang") if seen.path == "/hang" else Reply(200, "ok"))
    limits = Limits(concurrency=1, burst=100, per_minute=60_000)

    async def go() -> Response:
        async with Engine(limits, timeout_s=0.3) as eng:
            hung = asyncio.create_task(eng.request("GET", server.url + "/hang"))
            ok = asyncio.create_task(eng.request("GET", server.url + "/ok"))
            await asyncio.gather(hung, return_exceptions=True)
            return await ok

    assert run_sync(go()).status == 200
