"""Reading sops metadata and `.sops.yaml` without a key: what `check`, `recipients` and `merge` share.

Everything here works on the encrypted text alone, so it runs in pre-commit and CI without secrets.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENC_RE = re.compile(
    r"^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,"
    r"type:(?:str|int|float|bool|bytes|comment|time)\]$"
)
ENC_ANYWHERE_RE = re.compile(r"ENC\[[^\]]*\]")
SELECTOR_KEYS = (
    "encrypted_regex",
    "unencrypted_regex",
    "encrypted_suffix",
    "unencrypted_suffix",
    "encrypted_comment_regex",
    "unencrypted_comment_regex",
)
# Secret fields of SPEC §1: encrypted whatever the file's selector says.
SECRET_FIELDS = frozenset({"api_key", "access_token", "management_key", "bearer_token"})


def is_encrypted_value(value: Any) -> bool:
    return isinstance(value, str) and bool(ENC_RE.match(value))


@dataclass(frozen=True)
class Selector:
    """Which leaves sops encrypts in a file, from the file's own `sops:` metadata."""

    kind: str  # one of SELECTOR_KEYS
    value: str

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> Selector:
        for key in SELECTOR_KEYS:
            raw = meta.get(key)
            if isinstance(raw, str) and raw:
                return cls(key, raw)
        # sops' default when no selector is recorded: everything except `*_unencrypted` keys.
        return cls("unencrypted_suffix", "_unencrypted")

    @property
    def decidable(self) -> bool:
        """Comment-driven (or broken) selectors cannot be evaluated here; only SECRET_FIELDS are enforced."""
        return self.kind in SELECTOR_KEYS and not self.kind.endswith("comment_regex")

    @functools.cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile(self.value)

    def should_encrypt(self, keys: Iterable[str]) -> bool:
        path = list(keys)
        if self.kind == "encrypted_regex":
            return any(self._regex.search(k) for k in path)
        if self.kind == "unencrypted_regex":
            return not any(self._regex.search(k) for k in path)
        if self.kind == "encrypted_suffix":
            return any(k.endswith(self.value) for k in path)
        if self.kind == "unencrypted_suffix":
            return not any(k.endswith(self.value) for k in path)
        return False


def file_recipients(meta: dict[str, Any]) -> set[str]:
    """The age recipients a sops file is encrypted to (top level and key groups)."""
    out: set[str] = set()

    def collect(entries: Any) -> None:
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get("recipient"), str):
                    out.add(entry["recipient"].strip())

    collect(meta.get("age"))
    groups = meta.get("key_groups")
    if isinstance(groups, list):
        for group in groups:
            if isinstance(group, dict):
                collect(group.get("age"))
    return out


def split_recipients(raw: Any) -> list[str]:
    """`.sops.yaml`'s `age:` value: a comma-separated string (any scalar style) or a list (sops 3.11+)."""
    items: list[str] = []
    if isinstance(raw, str):
        items = [part.strip() for part in raw.replace("\n", ",").split(",")]
    elif isinstance(raw, list):
        for entry in raw:
            if isinstance(entry, str):
                items.extend(part.strip() for part in entry.split(","))
    return [i for i in items if i]


def rule_recipients(rule: dict[str, Any]) -> set[str]:
    out = set(split_recipients(rule.get("age")))
    groups = rule.get("key_groups")
    if isinstance(groups, list):
        for group in groups:
            if isinstance(group, dict):
                out.update(split_recipients(group.get("age")))
    return out


def find_sops_config(start: Path) -> Path | None:
    """The `.sops.yaml` sops would use for a file in ``start``: SOPS_CONFIG, else the nearest parent's."""
    override = os.environ.get("SOPS_CONFIG")
    if override:
        return Path(override)
    here = start.resolve()
    for _ in range(100):
        candidate = here / ".sops.yaml"
        if candidate.is_file():
            return candidate
        if here.parent == here:
            return None
        here = here.parent
    return None


def load_yaml_plain(text: str) -> Any:
    """Plain Python values of a YAML text: files sops wrote go through the fast line reader
    (seconds saved on a large file in textconv, merge and recipients), anything else through ruamel."""
    from credlib.gitops import blockyaml

    try:
        return blockyaml.parse(text).root
    except blockyaml.Unsupported:
        from ruamel.yaml import YAML

        return YAML(typ="safe", pure=True).load(text)


def matching_rule(config_path: Path, file_path: Path) -> tuple[int, dict[str, Any]] | None:
    """The first creation rule whose `path_regex` matches ``file_path`` (relative to the config's dir)."""
    data = load_yaml_plain(config_path.read_text(encoding="utf-8"))
    rules = data.get("creation_rules") if isinstance(data, dict) else None
    if not isinstance(rules, list):
        return None
    target = file_path.resolve()
    try:
        rel = target.relative_to(config_path.parent.resolve()).as_posix()
    except ValueError:
        rel = target.as_posix()
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        regex = rule.get("path_regex")
        if regex is None or re.search(str(regex), rel):
            return index, rule
    return None
