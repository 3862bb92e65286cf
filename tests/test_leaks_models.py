"""A relay that echoes the key inside its model list (as an id or a name) never gets it printed."""

from __future__ import annotations

import asyncio
import json

from credlib.model import Credential, Limits
from credlib.net import Engine
from credlib.probes.models import ModelList, list_models
from credlib.relay import Relay
from tests.fixtures.env import fake_key


def test_key_echoed_as_a_model_id_is_redacted(relay: Relay) -> None:
    key = fake_key()
    relay.add_key(key, models=["gpt-4o-mini", key, f"proxy-{key}"])
    cred = Credential(name="c", id="c", base_url=relay.url, api_key=key)

    async def go() -> ModelList:
        async with Engine(Limits(4, 100, 60000), timeout_s=5, max_retries=0) as engine:
            return await list_models(engine, cred)

    result = asyncio.run(go())
    assert result.ok, result.reason
    shown = json.dumps(result.to_json(), ensure_ascii=False)
    assert key not in shown
    assert result.ids == ["gpt-4o-mini", f"{key[:5]}…{key[-4:]}", f"proxy-{key[:5]}…{key[-4:]}"]
