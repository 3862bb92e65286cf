"""Merge a rendered fragment into a tool's existing config, touching only what credlib owns.

Ownership is a set of hashed entry identities per merge rule, kept in state (``owned``). An entry
in the tool's file that credlib never wrote is never changed or removed; an owned entry that is
no longer rendered is removed; a rendered entry is added or updated in place. Entries that already
exist under a rendered identity are adopted (upsert), so losing the state file costs nothing but
the cleanup of entries credlib no longer renders.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from credlib.errors import CredlibError
from credlib.exports.formats import new_container, to_plain
from credlib.exports.registry import MergeRule
from credlib.exports.targetplan import Change
from credlib.redact import redact_key

_MISSING = object()


class ShapeError(CredlibError):
    """The tool's file has a different shape where credlib puts its entries."""


def identity_hash(rule: MergeRule, identity: str) -> str:
    return hashlib.sha256(f"{rule.id}\0{identity}".encode()).hexdigest()[:16]


@dataclass
class MergeResult:
    document: Any
    changes: list[Change] = field(default_factory=list)
    owned: dict[str, list[str]] = field(default_factory=dict)  # rule id -> identity hashes


def _get(node: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not hasattr(node, "keys") or part not in node:
            return _MISSING
        node = node[part]
    return node


def _is_map(node: Any) -> bool:
    return hasattr(node, "keys") and hasattr(node, "__setitem__")


def _ensure(doc: Any, path: tuple[str, ...], fmt: str, leaf: str) -> Any:
    """The container at ``path``, creating missing levels (a map, or a list for list rules)."""
    node = doc
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if part not in node:
            if last and leaf == "list":
                node[part] = []
            else:
                # A plain document stays plain (fast to write); a round-trip one gets its own kind.
                node[part] = {} if type(node) is dict else new_container(fmt)
        node = node[part]
        want_list = last and leaf == "list"
        if want_list and not isinstance(node, list):
            raise ShapeError(
                f"`{'.'.join(path[: i + 1])}` is not a list; credlib cannot add its entries to it"
            )
        if not want_list and not _is_map(node):
            raise ShapeError(
                f"`{'.'.join(path[: i + 1])}` is not a mapping; credlib cannot add its entries to it"
            )
    return node


def _dotted(entry: Any, dotted: str) -> Any:
    node = entry
    for part in dotted.split("."):
        if not hasattr(node, "keys") or part not in node:
            return None
        node = node[part]
    return to_plain(node)


def _list_identity(rule: MergeRule, entry: Any) -> str:
    return "\0".join(str(_dotted(entry, k)) for k in rule.key)


def _list_label(rule: MergeRule, entry: Any) -> str:
    parts = []
    for k in rule.key:
        value = str(_dotted(entry, k))
        parts.append(redact_key(value) if "key" in k.lower() or "token" in k.lower() else value)
    return f"{rule.id}[{' @ '.join(parts)}]"


def _changed_fields(old: Any, new: Any) -> str:
    old_p, new_p = to_plain(old), to_plain(new)
    if isinstance(old_p, dict) and isinstance(new_p, dict):
        names = sorted(k for k in set(old_p) | set(new_p) if old_p.get(k, _MISSING) != new_p.get(k, _MISSING))
        return "changed: " + ", ".join(names)
    return "changed"


def _insertable(value: Any, fmt: str) -> Any:
    # Entries move between documents of different libraries as plain data; each writer lays them out
    # in its own default block style. A fragment parsed from JSON is plain already (fmt "plain").
    return value if fmt == "plain" else to_plain(value)


def merge_document(
    existing: Any,
    rendered: Any,
    rules: tuple[MergeRule, ...],
    owned_before: dict[str, list[str]] | None,
    fmt: str,
    *,
    fragment_plain: bool = False,
) -> MergeResult:
    """Merge ``rendered`` into ``existing`` in place; return it with the changes made."""
    result = MergeResult(document=existing)
    before = owned_before or {}
    # Insert a plain fragment's entries as they are (no copy) when they go into a plain document.
    insert_fmt = "plain" if fragment_plain and type(existing) is dict else fmt
    for rule in rules:
        owned = set(before.get(rule.id, []))
        if rule.kind == "map":
            _merge_map(rule, existing, rendered, owned, insert_fmt, result)
        elif rule.kind == "list":
            _merge_list(rule, existing, rendered, owned, insert_fmt, result)
        else:
            _merge_value(rule, existing, rendered, owned, insert_fmt, result)
    return result


def _label(rule: MergeRule, key: str) -> str:
    return f"{rule.id}.{key}" if rule.path else key


def _merge_map(rule: MergeRule, doc: Any, rendered: Any, owned: set[str], fmt: str, res: MergeResult) -> None:
    wanted = _get(rendered, rule.path)
    wanted = wanted if wanted is not _MISSING and hasattr(wanted, "keys") else {}
    current = _get(doc, rule.path)
    if current is not _MISSING and hasattr(current, "keys"):
        for key in list(current.keys()):
            if key not in wanted and identity_hash(rule, str(key)) in owned:
                del current[key]
                res.changes.append(Change("-", _label(rule, str(key)), "removed"))
    if wanted:
        container = _ensure(doc, rule.path, fmt, "map")
        for key in wanted:
            value = wanted[key]
            if key in container:
                if to_plain(container[key]) != to_plain(value):
                    summary = _changed_fields(container[key], value)
                    container[key] = _insertable(value, fmt)
                    res.changes.append(Change("~", _label(rule, str(key)), summary))
            else:
                container[key] = _insertable(value, fmt)
                res.changes.append(Change("+", _label(rule, str(key)), "added"))
    res.owned[rule.id] = sorted(identity_hash(rule, str(k)) for k in wanted)


def _merge_list(
    rule: MergeRule, doc: Any, rendered: Any, owned: set[str], fmt: str, res: MergeResult
) -> None:
    wanted_list = _get(rendered, rule.path)
    wanted_list = list(wanted_list) if isinstance(wanted_list, list) else []
    wanted = {_list_identity(rule, e): e for e in wanted_list}
    current = _get(doc, rule.path)
    if isinstance(current, list):
        for index in range(len(current) - 1, -1, -1):
            entry = current[index]
            ident = _list_identity(rule, entry)
            if ident not in wanted and identity_hash(rule, ident) in owned:
                res.changes.append(Change("-", _list_label(rule, entry), "removed"))
                del current[index]
    if wanted:
        container = _ensure(doc, rule.path, fmt, "list")
        positions = {_list_identity(rule, e): i for i, e in enumerate(container)}
        for ident, entry in wanted.items():
            if ident in positions:
                old = container[positions[ident]]
                if to_plain(old) != to_plain(entry):
                    res.changes.append(Change("~", _list_label(rule, entry), _changed_fields(old, entry)))
                    container[positions[ident]] = _insertable(entry, fmt)
            else:
                container.append(_insertable(entry, fmt))
                res.changes.append(Change("+", _list_label(rule, entry), "added"))
    res.owned[rule.id] = sorted(identity_hash(rule, i) for i in wanted)


def _merge_value(
    rule: MergeRule, doc: Any, rendered: Any, owned: set[str], fmt: str, res: MergeResult
) -> None:
    wanted = _get(rendered, rule.path)
    parent_path, leaf = rule.path[:-1], rule.path[-1]
    current = _get(doc, rule.path)
    mine = identity_hash(rule, rule.id) in owned
    if wanted is _MISSING:
        if mine and current is not _MISSING:
            del _get(doc, parent_path)[leaf]
            res.changes.append(Change("-", rule.id, "removed"))
        return
    if current is _MISSING:
        _ensure(doc, parent_path, fmt, "map")[leaf] = _insertable(wanted, fmt)
        res.changes.append(Change("+", rule.id, "set"))
        mine = True
    elif to_plain(current) == to_plain(wanted):
        mine = True
    elif mine:
        _ensure(doc, parent_path, fmt, "map")[leaf] = _insertable(wanted, fmt)
        res.changes.append(Change("~", rule.id, "changed"))
    # else: the user set it to something else themselves; theirs wins and credlib stops owning it.
    if mine:
        res.owned[rule.id] = [identity_hash(rule, rule.id)]
