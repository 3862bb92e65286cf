"""Where each API type lives under a stored base URL, and how each type presents its key.

Stored base URLs carry no version segment (SPEC §2), so the probes add ``/v1`` (``/v1beta`` for
Google) themselves, except when the stored base already ends in another version-like segment
(``/api/coding/v3``): such a path is a complete API prefix and requests go right under it.
"""

from __future__ import annotations

import re

from credlib.model import ApiType
from credlib.urls import join_url

ANTHROPIC_VERSION = "2023-06-01"

_VERSION_LIKE = re.compile(r"v\d+(?:(?:alpha|beta)\d*)?", re.IGNORECASE)


def is_complete_prefix(base_url: str) -> bool:
    """True when the stored base already ends in a version-like segment (``/v3``, ``/v1beta``)."""
    last = base_url.rstrip("/").rsplit("/", 1)[-1]
    return "://" not in last and bool(_VERSION_LIKE.fullmatch(last))


def api_root(base_url: str, api_type: ApiType) -> str:
    """The URL the type's paths (``/models``, ``/chat/completions``…) hang from."""
    if is_complete_prefix(base_url):
        return base_url.rstrip("/")
    return join_url(base_url, "v1beta" if api_type == "google" else "v1")


def url(base_url: str, api_type: ApiType, path: str) -> str:
    return join_url(api_root(base_url, api_type), path)


def native_auth_headers(api_type: ApiType, key: str) -> dict[str, str]:
    """The headers the type's own SDK sends."""
    if api_type == "anthropic":
        return {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION}
    if api_type == "google":
        return {"x-goog-api-key": key}
    return {"authorization": f"Bearer {key}"}


def bearer_auth_headers(api_type: ApiType, key: str) -> dict[str, str]:
    """The fallback many relays want instead of the native header (All API Hub's 401 retry)."""
    headers = {"authorization": f"Bearer {key}"}
    if api_type == "anthropic":
        headers["anthropic-version"] = ANTHROPIC_VERSION
    return headers


def has_bearer_fallback(api_type: ApiType) -> bool:
    return api_type in ("anthropic", "google")
