"""Three-way merge of decrypted credentials trees, by credential id and field.

Pure data in, data out: the merge driver decrypts, calls ``merge_documents`` and re-encrypts. Lists of
credentials and targets are matched by identity (credential ``id`` or slug of its name, target
``name``), so two people editing different credentials never conflict, and the same credential edited
in different fields merges field by field. A real conflict keeps our side and is reported by path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from credlib.gitops.sopsmeta import SECRET_FIELDS


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Conflict:
    path: str  # e.g. "credentials[openai-main].api_key"
    kind: str  # "both-changed" | "delete-vs-change" | "both-added"
    ours: str  # a display form: redacted for secret fields
    theirs: str
    kept: str = "ours"

    def render(self) -> str:
        what = {
            "both-changed": "changed on both sides",
            "delete-vs-change": "deleted on one side, changed on the other",
            "both-added": "added on both sides with different values",
        }[self.kind]
        return f"{self.path}: {what} (ours: {self.ours}; theirs: {self.theirs}); kept {self.kept}"


@dataclass
class MergeResult:
    data: dict[str, Any]
    conflicts: list[Conflict] = field(default_factory=list)


def _display(value: Any, secret: bool) -> str:
    from credlib.redact import redact_key

    if value is MISSING:
        return "deleted"
    if secret and isinstance(value, str):
        return redact_key(value)
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, list):
        return "[…]"
    from credlib.gitops.patterns import mask_secrets

    # A key pasted into notes or any other field is masked before truncation could cut it in half.
    text = mask_secrets(repr(value))
    return text if len(text) <= 60 else text[:57] + "…"


def _is_secret_path(path: str) -> bool:
    last = path.rsplit(".", 1)[-1]
    return last in SECRET_FIELDS


def credential_identity(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    explicit = item.get("id")
    if isinstance(explicit, str) and explicit:
        return explicit
    name = item.get("name")
    if isinstance(name, str) and name:
        from credlib.validate import slug

        return slug(name)
    return None


def target_identity(item: Any) -> str | None:
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        return str(item["name"])
    return None


_KEYED_LISTS = {"credentials": credential_identity, "targets": target_identity}


class _Merger:
    def __init__(self) -> None:
        self.conflicts: list[Conflict] = []

    def value(self, base: Any, ours: Any, theirs: Any, path: str, list_key: str | None = None) -> Any:
        if ours == theirs:
            return ours
        if ours == base:
            return theirs
        if theirs == base:
            return ours
        if isinstance(ours, dict) and isinstance(theirs, dict):
            return self.mapping(base if isinstance(base, dict) else {}, ours, theirs, path)
        identity = _KEYED_LISTS.get(list_key or "")
        if identity and isinstance(ours, list) and isinstance(theirs, list):
            merged = self.keyed_list(base if isinstance(base, list) else [], ours, theirs, path, identity)
            if merged is not None:
                return merged
        if isinstance(ours, list) and isinstance(theirs, list) and isinstance(base, list) and not identity:
            merged_set = self.set_like(base, ours, theirs)
            if merged_set is not None:
                return merged_set
        return self.conflict(base, ours, theirs, path)

    def conflict(self, base: Any, ours: Any, theirs: Any, path: str) -> Any:
        secret = _is_secret_path(path)
        if ours is MISSING or theirs is MISSING:
            kind = "delete-vs-change" if base is not MISSING else "both-added"
            # Keep the side that still has the value, so nothing is lost; the user deletes it again.
            kept_value, kept = (theirs, "theirs") if ours is MISSING else (ours, "ours")
        else:
            kind = "both-changed" if base is not MISSING else "both-added"
            kept_value, kept = ours, "ours"
        self.conflicts.append(Conflict(path, kind, _display(ours, secret), _display(theirs, secret), kept))
        return kept_value

    def mapping(self, base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any], path: str) -> Any:
        out: dict[str, Any] = {}
        keys = list(ours) + [k for k in theirs if k not in ours]
        keys += [k for k in base if k not in ours and k not in theirs]
        for key in keys:
            child = f"{path}.{key}" if path else key
            merged = self.value(
                base.get(key, MISSING),
                ours.get(key, MISSING),
                theirs.get(key, MISSING),
                child,
                list_key=key if not path else None,
            )
            if merged is not MISSING:
                out[key] = merged
        return out

    def set_like(self, base: list[Any], ours: list[Any], theirs: list[Any]) -> list[Any] | None:
        """Lists of scalars (tags, models): apply both sides' additions and removals, keep our order."""
        if not all(isinstance(x, str | int | float | bool) for x in (*base, *ours, *theirs)):
            return None
        removed = ({x for x in base if x not in ours}) | ({x for x in base if x not in theirs})
        out = [x for x in ours if x not in removed]
        out += [x for x in theirs if x not in out and x not in removed]
        return out

    def keyed_list(
        self, base: list[Any], ours: list[Any], theirs: list[Any], path: str, identity: Any
    ) -> Any:
        def index(items: list[Any]) -> dict[str, Any] | None:
            out: dict[str, Any] = {}
            for item in items:
                key = identity(item)
                if key is None or key in out:
                    return None  # unkeyed or duplicate: the list is not mergeable item by item
                out[key] = item
            return out

        b, o, t = index(base), index(ours), index(theirs)
        if b is None or o is None or t is None:
            return None
        order = list(o)
        # Their new items go right after the item that precedes them on their side.
        for pos, key in enumerate(t):
            if key in order or key in b:
                continue
            prev = next((t_key for t_key in reversed(list(t)[:pos]) if t_key in order), None)
            order.insert(order.index(prev) + 1 if prev is not None else 0, key)
        for key in b:
            if key not in order:
                order.append(key)
        merged: list[Any] = []
        for key in order:
            value = self.value(
                b.get(key, MISSING), o.get(key, MISSING), t.get(key, MISSING), f"{path}[{key}]"
            )
            if value is not MISSING:
                merged.append(value)
        return merged


def merge_documents(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> MergeResult:
    merger = _Merger()
    data = merger.mapping(base, ours, theirs, "")
    return MergeResult(data=data, conflicts=merger.conflicts)
