"""Per-origin request limiting: a concurrency cap, a token bucket and a strict FIFO queue.

Every attempt (first tries, retries and redirect hops alike) passes through ``OriginLimiter.slot``.
Origins are independent. Within an origin, requests are dispatched strictly in the order of their
sequence number: a retry keeps the number of its original request, so it goes ahead of requests that
arrived after that request rather than to the back of the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from credlib.model import Limits

Clock = Callable[[], float]
DEFAULT_LIMITS = Limits()  # frozen, so one shared default is safe


class TokenBucket:
    """``burst`` tokens, refilled continuously at ``per_minute / 60`` per second; starts full.

    ``per_minute <= 0`` disables the rate (only concurrency applies).
    """

    def __init__(self, burst: int, per_minute: float, clock: Clock = time.monotonic) -> None:
        self.capacity = float(max(1, burst))
        self.rate = per_minute / 60.0
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        if self.rate > 0:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_time(self) -> float:
        """Seconds until one token is available (0 if one is available now)."""
        if self.rate <= 0:
            return 0.0
        self._refill()
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def take(self) -> None:
        if self.rate > 0:
            self._refill()
            self._tokens -= 1.0


class _Origin:
    """One origin's queue: waiters ordered by sequence number, served by a single pump task."""

    def __init__(self, limits: Limits, clock: Clock) -> None:
        self.bucket = TokenBucket(limits.burst, limits.per_minute, clock)
        self.concurrency = max(1, limits.concurrency)
        self.in_flight = 0
        self.paused_until = 0.0
        self.waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self.changed = asyncio.Event()  # set whenever something the pump waits on may have changed
        self.pump: asyncio.Task[None] | None = None


class OriginLimiter:
    """Hands out request slots per origin; see the module docstring for the rules.

    One instance belongs to one event loop (the engine creates it per ``async with``).
    """

    def __init__(
        self,
        default: Limits = DEFAULT_LIMITS,
        per_origin: dict[str, Limits] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._default = default
        self._per_origin = dict(per_origin or {})
        self._clock = clock
        self._origins: dict[str, _Origin] = {}
        self._tie = itertools.count()  # keeps heap entries comparable when sequence numbers repeat

    def _state(self, origin: str) -> _Origin:
        state = self._origins.get(origin)
        if state is None:
            state = _Origin(self._per_origin.get(origin, self._default), self._clock)
            self._origins[origin] = state
        return state

    def pause(self, origin: str, seconds: float) -> None:
        """Hold back ``origin``'s queue for ``seconds`` (a Retry-After); other origins keep going."""
        state = self._state(origin)
        state.paused_until = max(state.paused_until, self._clock() + seconds)
        state.changed.set()

    def paused_for(self, origin: str) -> float:
        """Seconds until ``origin``'s queue may dispatch again (0 if it is not paused)."""
        state = self._origins.get(origin)
        return max(0.0, state.paused_until - self._clock()) if state else 0.0

    @asynccontextmanager
    async def slot(self, origin: str, seq: int) -> AsyncIterator[None]:
        """Wait for a turn, then hold one of ``origin``'s concurrency slots for the block."""
        state = self._state(origin)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(state.waiters, (seq, next(self._tie), fut))
        state.changed.set()
        if state.pump is None:
            state.pump = asyncio.create_task(self._pump(state))
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self._release(state)  # granted just as we were cancelled: give the slot back
            else:
                fut.cancel()  # the pump skips it
            raise
        try:
            yield
        finally:
            self._release(state)

    def _release(self, state: _Origin) -> None:
        state.in_flight -= 1
        state.changed.set()

    async def _pump(self, state: _Origin) -> None:
        """Dispatch the lowest sequence number as soon as a slot, the pause and a token allow.

        The token is taken at the moment of dispatch, after the slot: a token never waits for a
        slot, so request start times follow the bucket exactly and never bunch up.
        """
        try:
            while state.waiters:
                state.changed.clear()
                _, _, fut = state.waiters[0]
                if fut.done():
                    heapq.heappop(state.waiters)
                    continue
                if state.in_flight >= state.concurrency:
                    await state.changed.wait()
                    continue
                delay = max(state.paused_until - self._clock(), state.bucket.wait_time())
                if delay > 0:
                    # Wake early if a retry (lower number) arrives or the pause grows.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(state.changed.wait(), delay)
                    continue
                heapq.heappop(state.waiters)
                state.bucket.take()
                state.in_flight += 1
                fut.set_result(None)
        except BaseException:
            # Never leave a waiter parked forever: if the pump dies, every queued request fails.
            for _, _, waiter in state.waiters:
                waiter.cancel()
            state.waiters.clear()
            raise
        finally:
            state.pump = None


def theoretical_bound(n_requests_per_origin: int | Sequence[int], latency_s: float, limits: Limits) -> float:
    """The least wall time the limiter allows for a workload of independent origins.

    Each origin starts request ``i`` as soon as both a slot (request ``i - concurrency`` finished)
    and a token are free; requests take ``latency_s``. Origins run in parallel, so the bound is the
    slowest origin's finish time.
    """
    counts = (
        [n_requests_per_origin] if isinstance(n_requests_per_origin, int) else list(n_requests_per_origin)
    )
    return max((_origin_finish(n, latency_s, limits) for n in counts), default=0.0)


def _origin_finish(n: int, latency_s: float, limits: Limits) -> float:
    rate = limits.per_minute / 60.0
    capacity = float(max(1, limits.burst))
    concurrency = max(1, limits.concurrency)
    tokens, stamp, start = capacity, 0.0, 0.0
    ends: list[float] = []
    for i in range(n):
        start = max(start, ends[i - concurrency] if i >= concurrency else 0.0)
        if rate > 0:
            tokens = min(capacity, tokens + (start - stamp) * rate)
            stamp = start
            if tokens < 1.0:
                start += (1.0 - tokens) / rate
                tokens, stamp = 1.0, start
            tokens -= 1.0
        ends.append(start + latency_s)
    return max(ends, default=0.0)
