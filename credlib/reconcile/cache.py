"""Skip re-planning a file target whose inputs and files are exactly as when it last matched.

Planning a file target renders its template, parses the tool's file, merges and dumps it; for large
YAML configs that is most of a plan's time. When nothing that goes into it has changed since a plan
found the target up to date (or apply wrote it) — the same credentials (key included, hashed), the same
target definition, the same templates and export code — and none of its files changed on disk since,
the result is known: no change. Any difference anywhere falls back to the full plan, so a hit can
only ever say "noop" where the full plan would too. Records hold hashes only.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from credlib.model import Credential, Target
from credlib.state import State, sha256_text

SECTION = "plan_cache"


@functools.cache
def code_fingerprint() -> str:
    """Hash of the shipped templates and the export code: an upgrade invalidates every record."""
    import credlib
    from credlib.exports import jinja

    digest = hashlib.sha256(credlib.__version__.encode())
    roots = [Path(jinja.__file__).parent, *jinja.template_dirs()]
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".j2")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _user_template(target: Target, base_dir: Path | None) -> str:
    if not target.template:
        return ""
    path = Path(target.template).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    try:
        return sha256_text(path.read_bytes())
    except OSError:
        return "missing"


def _plain(value: Any) -> Any:
    """JSON-able form of model values (dataclasses.asdict deep-copies; this only reads)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def credential_digest(cred: Credential) -> str:
    """Everything about one credential a rendering can depend on (the key included), hashed."""
    return sha256_text(json.dumps(_plain(cred), sort_keys=True, default=str))


def inputs_fingerprint(target: Target, kept_digests: Sequence[str], base_dir: Path | None) -> str:
    payload = {
        "code": code_fingerprint(),
        "target": _plain(target),
        "template": _user_template(target, base_dir),
        "base_dir": str(base_dir or Path.cwd()),
        "credentials": list(kept_digests),
    }
    return sha256_text(json.dumps(payload, sort_keys=True, default=str))


def _file_hash(path: str) -> str | None:
    try:
        return sha256_text(Path(path).read_bytes())
    except FileNotFoundError:
        return None
    except OSError:
        return "unreadable"


def lookup(state: State, target: Target, fingerprint: str) -> dict[str, Any] | None:
    """The record if it still holds: same inputs, every file as it was."""
    record = state.get(SECTION, target.name)
    if not isinstance(record, dict) or record.get("inputs") != fingerprint:
        return None
    files = record.get("files")
    if not isinstance(files, dict) or not files:
        return None
    if any(_file_hash(path) != digest for path, digest in files.items()):
        return None
    return record


def remember(
    state: State, target: Target, fingerprint: str, paths: Sequence[str], notes: Sequence[str]
) -> None:
    """Record that the target's files, as they are now, match what ``fingerprint``'s inputs render."""
    files = {p: _file_hash(p) for p in paths}
    if not files or any(h in (None, "unreadable") for h in files.values()):
        forget(state, target)
        return
    state.record(SECTION, target.name, {"inputs": fingerprint, "files": files, "notes": list(notes)})


def forget(state: State, target: Target) -> None:
    state.section(SECTION).pop(target.name, None)
