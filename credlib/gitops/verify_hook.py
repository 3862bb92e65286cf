"""Run the network verification for a chosen subset of credentials (the pre-push hook's job)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from credlib.model import Config, Credential


def verify_credentials(config: Config, creds: Sequence[Credential], **engine_options: Any) -> list[Any]:
    """``VerifyResult`` per credential, in order; no request at all when ``creds`` is empty."""
    if not creds:
        return []
    from credlib.net import engine_for, run_sync
    from credlib.probes.verify import verify_many

    async def run() -> list[Any]:
        async with engine_for(config, **engine_options) as engine:
            return list(await verify_many(engine, creds))

    return run_sync(run())
