"""Tool-ready base URLs from a stored base URL (research downstream.md §0).

Stored base URLs never carry the provider version segment (SPEC §2); each tool wants a different
shape, so templates pick one of these instead of concatenating strings.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_VERSION_TAIL = re.compile(r"/v\d+[a-z0-9]*$", re.IGNORECASE)


def has_version_prefix(base_url: str) -> bool:
    """True when the stored path already ends in a version segment (``/v3``): a complete API prefix."""
    return bool(_VERSION_TAIL.search(urlsplit(base_url).path))


def openai_base(base_url: str) -> str:
    """OpenAI-style clients append ``/chat/completions`` (or ``/responses``) to ``…/v1``."""
    base = base_url.rstrip("/")
    return base if has_version_prefix(base) else base + "/v1"


def root_base(base_url: str) -> str:
    """Anthropic/Gemini clients and New API channels take the root and add the version themselves."""
    return base_url.rstrip("/")


def gemini_v1beta(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if has_version_prefix(base) else base + "/v1beta"


def origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


def ccr_endpoint(base_url: str, api_type: str) -> str:
    """CCR 1.x/2.x ``api_base_url``: the full endpoint, used verbatim by its transformers."""
    if api_type == "anthropic":
        return root_base(base_url) + "/v1/messages"
    if api_type == "google":
        # The gemini transformer resolves "./{model}:generateContent" against it: the slash matters.
        return gemini_v1beta(base_url) + "/models/"
    return openai_base(base_url) + "/chat/completions"
