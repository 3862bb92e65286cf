"""`credlib ls` search and filters (SPEC §3; research all-api-hub §10).

The query and the haystack (name, base URL, tags, notes — never the key) are folded the same way:
NFKC (full-width letters become ASCII), case-folded, whitespace collapsed; a match is a substring
and may span field boundaries. Tags filter any-of; type filters exact.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from credlib.model import Credential


def fold(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


def haystack(cred: Credential) -> str:
    return fold(" ".join([cred.name, cred.base_url, " ".join(cred.tags), cred.notes or ""]))


def matches(cred: Credential, query: str = "", tags: Sequence[str] = (), types: Sequence[str] = ()) -> bool:
    if types and cred.api_type not in types:
        return False
    if tags:
        wanted = {fold(t) for t in tags}
        if not any(fold(t) in wanted for t in cred.tags):
            return False
    return not query or fold(query) in haystack(cred)


def search(
    creds: Iterable[Credential], query: str = "", tags: Sequence[str] = (), types: Sequence[str] = ()
) -> list[Credential]:
    return [c for c in creds if matches(c, query, tags, types)]
