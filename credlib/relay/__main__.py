"""``python -m credlib.relay [--port N] [--key-env VAR] [--latency S]``: run the relay in the foreground.

The key is read from the environment variable named by ``--key-env`` (default ``CREDLIB_RELAY_KEY``),
never from argv; without it the relay accepts any key. Ctrl+C stops it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from credlib.relay.server import Relay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m credlib.relay", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--name", default="relay")
    parser.add_argument(
        "--key-env", default="CREDLIB_RELAY_KEY", help="environment variable holding the accepted key"
    )
    parser.add_argument("--flavor", default="newapi", choices=("newapi", "sub2api", "openai", "plain"))
    args = parser.parse_args(argv)
    key = os.environ.get(args.key_env)
    relay = Relay(latency_s=args.latency, name=args.name, port=args.port, accept_any_key=not key)
    if key:
        relay.add_key(key, flavor=args.flavor)
    stop = threading.Event()
    # SIGINT too, explicitly: a process started in the background by a shell inherits SIGINT
    # ignored, and Python then never raises KeyboardInterrupt, so Ctrl+C (or a test's SIGINT) would
    # not stop the relay.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        relay.start()
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 6
    print(relay.url, flush=True)
    print("accepting the key from $" + args.key_env if key else "accepting any key", file=sys.stderr)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        relay.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
