"""What every importer produces, and how candidates become new credentials without duplicates.

An importer turns its source into ``Candidate``s (plain dicts in the credentials file's shape, plus a
label for messages). ``plan_import`` drops what is already in the file or repeated in the source
(identity = API type + normalized base URL + key, as All API Hub dedupes), makes names unique
(ignoring case, across the file and the import) and leaves the writing to ``credlib.store``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from credlib.model import API_TYPES, ApiType, Config

Identity = tuple[str, str, str]


@dataclass
class Candidate:
    item: dict[str, Any]  # name, base_url, api_key, api_type, tags, notes, models, expires_at, telemetry
    source: str  # where it came from, for messages ("profile 3", "line 7", "claude provider x")
    updated_at: float = 0.0  # newer wins among duplicates inside the source

    @property
    def api_type(self) -> ApiType:
        value = self.item.get("api_type", "openai-compatible")
        return value if value in API_TYPES else "openai-compatible"


@dataclass(frozen=True)
class Skipped:
    source: str
    name: str
    reason: str


@dataclass
class ImportPlan:
    items: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def fold(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()


def identity_of(api_type: str, base_url: str, api_key: str) -> Identity | None:
    from credlib.urls import normalize_base_url

    try:
        base = normalize_base_url(base_url, api_type if api_type in API_TYPES else "openai-compatible")
    except ValueError:
        return None
    return api_type, base, api_key.strip()


def _unique_name(wanted: str, taken: set[str], alternative: str = "") -> str:
    if fold(wanted) not in taken:
        return wanted
    if alternative and fold(alternative) not in taken:
        return alternative
    n = 2
    while fold(f"{wanted} ({n})") in taken:
        n += 1
    return f"{wanted} ({n})"


def plan_import(config: Config | None, candidates: list[Candidate], warnings: list[str]) -> ImportPlan:
    from credlib.validate import slug

    plan = ImportPlan(warnings=list(warnings))
    existing: dict[Identity, str] = {}
    taken_names: set[str] = set()
    taken_ids: set[str] = set()
    if config is not None:
        for cred in config.credentials:
            existing[(cred.api_type, cred.base_url, cred.api_key)] = cred.name
            taken_names.add(fold(cred.name))
            taken_ids.add(cred.id)
    # Among duplicates inside the source, the most recently updated one is imported (tags merged).
    chosen: dict[Identity, Candidate] = {}
    order: list[Identity] = []
    for cand in candidates:
        name = str(cand.item.get("name") or "")
        ident = identity_of(
            cand.api_type, str(cand.item.get("base_url", "")), str(cand.item.get("api_key", ""))
        )
        if ident is None:
            plan.skipped.append(Skipped(cand.source, name, "invalid base URL"))
            continue
        if not ident[2]:
            plan.skipped.append(Skipped(cand.source, name, "empty API key"))
            continue
        if ident in existing:
            plan.skipped.append(Skipped(cand.source, name, f"already in the file as {existing[ident]!r}"))
            continue
        if ident in chosen:
            keep, drop = (
                (cand, chosen[ident]) if cand.updated_at > chosen[ident].updated_at else (chosen[ident], cand)
            )
            tags = list(dict.fromkeys([*keep.item.get("tags", []), *drop.item.get("tags", [])]))
            if tags:
                keep.item["tags"] = tags
            chosen[ident] = keep
            plan.skipped.append(
                Skipped(
                    drop.source,
                    str(drop.item.get("name") or ""),
                    f"duplicate of {keep.source} (same type, base URL and key)",
                )
            )
            continue
        chosen[ident] = cand
        order.append(ident)
    for ident in order:
        cand = chosen[ident]
        item = dict(cand.item)
        item["base_url"] = ident[1]
        item["api_key"] = ident[2]
        alternative = f"{item['name']} ({item['tags'][0]})" if item.get("tags") else ""
        item["name"] = _unique_name(str(item["name"]), taken_names, alternative)
        taken_names.add(fold(item["name"]))
        if slug(item["name"]) in taken_ids:
            item["id"] = _unique_name(slug(item["name"]), taken_ids).replace(" (", "-").rstrip(")")
        taken_ids.add(str(item.get("id") or slug(item["name"])))
        plan.items.append({k: v for k, v in item.items() if v not in (None, "", [], {})})
    return plan
