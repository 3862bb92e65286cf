"""credlib's network layer: the only package that opens sockets (see ``client.Engine``)."""

from credlib.net.client import Engine, Response, engine_for, run_sync
from credlib.net.errors import NetError
from credlib.net.limiter import OriginLimiter, TokenBucket, theoretical_bound

__all__ = [
    "Engine",
    "NetError",
    "OriginLimiter",
    "Response",
    "TokenBucket",
    "engine_for",
    "run_sync",
    "theoretical_bound",
]
