"""The requests of one credential's probe run: its key, its type's headers, and the Bearer fallback.

Anthropic and Gemini keys are first sent in their native header; on HTTP 401 (Gemini: 401 or 403)
the same request is sent once more with ``Authorization: Bearer`` instead (many relays only read
that). When the Bearer form is accepted it is remembered for the rest of the run, like All API
Hub does per base URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credlib.model import ApiType, Credential
from credlib.probes import endpoints
from credlib.probes.http import EngineLike, Outcome, send
from credlib.redact import Scrubber


class ProbeSession:
    def __init__(self, engine: EngineLike, cred: Credential, api_type: ApiType) -> None:
        self.engine = engine
        self.cred = cred
        self.api_type: ApiType = api_type
        self.scrub = Scrubber([cred.api_key])
        self.bearer = False  # the native header was refused and Bearer accepted

    def url(self, path: str) -> str:
        return endpoints.url(self.cred.base_url, self.api_type, path)

    def _auth(self, bearer: bool) -> dict[str, str]:
        if bearer:
            return endpoints.bearer_auth_headers(self.api_type, self.cred.api_key)
        return endpoints.native_auth_headers(self.api_type, self.cred.api_key)

    async def call(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Outcome:
        headers = {**(extra_headers or {}), **self._auth(self.bearer)}
        out = await send(self.engine, method, url, headers=headers, json_body=json_body, params=params)
        # Google reports a key it could not find as 403; a relay that reads only Bearer looks like that.
        refused = out.status == 401 or (out.status == 403 and self.api_type == "google")
        if refused and not self.bearer and endpoints.has_bearer_fallback(self.api_type):
            retry_headers = {**(extra_headers or {}), **self._auth(True)}
            second = await send(
                self.engine, method, url, headers=retry_headers, json_body=json_body, params=params
            )
            if second.status not in (401, 403) and second.status is not None:
                self.bearer = True
            elif second.status is not None:
                # Refused both ways: the native answer is the one that means something (Google
                # answers a Bearer API key 401 even when the key is valid and only lacks access).
                return out
            return second
        return out
