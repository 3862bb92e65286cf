"""Which credentials changed since the upstream branch (for the `credlib-verify` pre-push hook).

A credential counts as changed when it is new, or its key, base URL or API type differs from the
version at the base ref; names, tags and notes do not cost a network request. The base version is
read with `git show REF:PATH` and decrypted from memory, so nothing is checked out or written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from credlib.errors import CredlibError
from credlib.gitops.gitcmd import repo_root, show_file, upstream_ref
from credlib.model import Config, Credential


@dataclass(frozen=True)
class ChangedSet:
    base_ref: str | None
    credentials: tuple[Credential, ...]
    total: int
    reason: str  # why this set (shown to the user)


def _identity(cred: Credential) -> tuple[str, str, str]:
    return cred.api_key, cred.base_url, cred.api_type


def _old_credentials(ref: str, file: Path, root: Path) -> dict[str, tuple[str, str, str]] | None:
    """id -> (key, base_url, type) at ``ref``; None when the file did not exist there or is unreadable."""
    from credlib.sops import decrypt_bytes
    from credlib.validate import validate_data

    rel = file.resolve().relative_to(root.resolve()).as_posix()
    raw = show_file(ref, rel, root)
    if raw is None:
        return None
    try:
        data = decrypt_bytes(raw, input_type="yaml")
        data.pop("sops", None)
        old = validate_data(data, file=f"{ref}:{rel}")
    except CredlibError:
        return None
    return {c.id: _identity(c) for c in old.credentials}


def _pre_push_base() -> str | None:
    """What the remote has, when pre-commit runs us as a pre-push hook (it exports the refs)."""
    ref = os.environ.get("PRE_COMMIT_FROM_REF") or os.environ.get("PRE_COMMIT_SOURCE")
    if not ref or set(ref) == {"0"}:
        return None
    return ref


def changed_since(config: Config, credentials_path: Path, since: str | None = None) -> ChangedSet:
    root = repo_root(credentials_path.resolve())
    ref = since or _pre_push_base() or upstream_ref(root)
    everything = tuple(config.credentials)
    if ref is None:
        return ChangedSet(None, everything, len(everything), "no upstream branch: every credential")
    old: dict[str, tuple[str, str, str]] = {}
    from credlib.store import files_of

    for file in files_of(credentials_path):
        found = _old_credentials(ref, file, root)
        if found is not None:
            old.update(found)
    changed = tuple(c for c in everything if old.get(c.id) != _identity(c))
    return ChangedSet(ref, changed, len(everything), f"changed since {ref}")
