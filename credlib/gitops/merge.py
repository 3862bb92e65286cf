"""`credlib git merge-driver BASE OURS THEIRS [PATH]`: merge encrypted credentials files safely.

git hands us three encrypted files and expects the result in OURS. We decrypt the three in memory,
merge the trees by credential id and field (``threeway``), and write the result by editing OURS
through ``sops edit`` (``credlib.sops.edit_with``): OURS' data key is kept and every value that did
not change keeps its exact ciphertext, so the merged file diffs cleanly and still decrypts for every
recipient. On a real conflict OURS receives a valid encrypted file (our side of each conflicting
field) and we exit 1 with a per-field report, never conflict markers inside ciphertext.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credlib.errors import CredlibError, ExitCode, ValidationError
from credlib.gitops import sopsmeta
from credlib.gitops.threeway import Conflict, merge_documents
from credlib.yamledit import to_plain


class NotCredlibFileError(CredlibError):
    exit_code = ExitCode.INVALID_FILE


@dataclass
class MergeOutcome:
    conflicts: list[Conflict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # validation problems of the merged tree
    notes: list[str] = field(default_factory=list)  # things the user must still do (recipients)
    wrote: bool = False
    # Every secret-field value of the three sides: scrubbed from the report whatever field it shows up in.
    secrets: set[str] = field(default_factory=set, repr=False)

    @property
    def clean(self) -> bool:
        return not self.conflicts and not self.problems


@dataclass
class _Side:
    label: str
    raw: bytes
    meta: dict[str, Any] | None


def _read_side(label: str, path: Path, display: str, *, may_be_empty: bool) -> _Side:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NotCredlibFileError(f"{label} version of {display} cannot be read: {exc.strerror}") from None
    if not raw.strip():
        if may_be_empty:
            return _Side(label, raw, None)
        raise NotCredlibFileError(f"{label} version of {display} is empty, not a credlib file")
    try:
        doc = sopsmeta.load_yaml_plain(raw.decode("utf-8"))
    except Exception:
        raise NotCredlibFileError(
            f"{label} version of {display} is not a credlib file (not valid YAML)",
            hint="resolve this merge by hand: `git checkout --ours/--theirs` the file, then `credlib edit`",
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sops"), dict):
        raise NotCredlibFileError(
            f"{label} version of {display} is not a credlib file (no sops metadata)",
            hint="resolve this merge by hand: `git checkout --ours/--theirs` the file, then `credlib edit`",
        )
    if "credentials" not in doc and "version" not in doc:
        raise NotCredlibFileError(f"{label} version of {display} is not a credlib file (no `credentials`)")
    return _Side(label, raw, doc["sops"])


def _decrypt(side: _Side) -> dict[str, Any]:
    from credlib.sops import decrypt_bytes

    if side.meta is None:
        return {}
    data = decrypt_bytes(side.raw, input_type="yaml")
    data.pop("sops", None)
    return data


def _sync(node: Any, target: Any) -> Any:
    """Make the round-trip node ``node`` equal ``target`` while keeping its comments where it can."""
    from credlib.gitops.threeway import credential_identity, target_identity

    if to_plain(node) == target:
        return node
    if isinstance(node, dict) and isinstance(target, dict):
        for key in [k for k in node if str(k) not in target]:
            del node[key]
        for key, value in target.items():
            node[key] = _sync(node[key], value) if key in node else value
        return node
    if isinstance(node, list) and isinstance(target, list):
        for identity in (credential_identity, target_identity):
            existing = {identity(to_plain(item)): item for item in node}
            if None not in existing and all(identity(t) is not None for t in target):
                rebuilt = [_sync(existing[identity(t)], t) if identity(t) in existing else t for t in target]
                node[:] = rebuilt
                return node
        node[:] = target
        return node
    return target


def _edit_into(ours_path: Path, display_name: str, merged: dict[str, Any]) -> bool:
    """Write ``merged`` into OURS through `sops edit`, on a copy named like the real file (sops picks the
    YAML store from the extension, and git's `.merge_file_*` has none)."""
    from credlib.sops import edit_with
    from credlib.yamledit import roundtrip_edit

    workdir = Path(tempfile.mkdtemp(prefix=".credlib-merge-", dir=ours_path.parent))
    try:
        work = workdir / (Path(display_name).name or "credentials.yaml")
        if work.suffix not in (".yaml", ".yml"):
            work = work.with_name(work.name + ".yaml")
        shutil.copyfile(ours_path, work)

        def transform(text: str) -> str | None:
            out = roundtrip_edit(text, lambda doc: _sync(doc, merged))
            return out if out != text else None

        changed = edit_with(work, transform)
        if changed:
            os.replace(work, ours_path)
        return changed
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(workdir)


def _recipients(side: _Side) -> set[str]:
    return sopsmeta.file_recipients(side.meta) if side.meta else set()


def merged_recipients(base: set[str], ours: set[str], theirs: set[str]) -> set[str]:
    """Our recipients with their side's additions and removals applied (a removal wins)."""
    if not base:
        return ours | theirs
    return (ours | (theirs - base)) - (base - theirs)


def _rekey(ours_path: Path, display_name: str, recipients: set[str], *, rotate: bool) -> None:
    """Re-encrypt the data key of OURS for ``recipients`` (and rotate it when someone was removed).

    `.sops.yaml` may not be merged yet when git runs us, so sops gets a private one-rule config naming
    exactly the merged recipients (through SOPS_CONFIG, for this call only).
    """
    from credlib import sops

    workdir = Path(tempfile.mkdtemp(prefix=".credlib-merge-", dir=ours_path.parent))
    saved = os.environ.get("SOPS_CONFIG")
    try:
        config = workdir / "sops-config.yaml"
        rule = "creation_rules:\n  - age: " + ",".join(sorted(recipients)) + "\n"
        config.write_text(rule, encoding="utf-8")
        work = workdir / (Path(display_name).name or "credentials.yaml")
        if work.suffix not in (".yaml", ".yml"):
            work = work.with_name(work.name + ".yaml")
        shutil.copyfile(ours_path, work)
        os.environ["SOPS_CONFIG"] = str(config.resolve())
        sops.updatekeys(work)
        if rotate:
            sops.rotate(work)
        os.replace(work, ours_path)
    finally:
        if saved is None:
            os.environ.pop("SOPS_CONFIG", None)
        else:
            os.environ["SOPS_CONFIG"] = saved
        with contextlib.suppress(OSError):
            shutil.rmtree(workdir)


def merge_files(base: Path, ours: Path, theirs: Path, display: str | None = None) -> MergeOutcome:
    """Merge THEIRS into OURS (both encrypted); see the module docstring. Raises on unreadable input."""
    name = display or ours.name
    base_side = _read_side("the common ancestor", base, name, may_be_empty=True)
    ours_side = _read_side("our", ours, name, may_be_empty=False)
    theirs_side = _read_side("their", theirs, name, may_be_empty=False)
    base_data, ours_data, theirs_data = _decrypt(base_side), _decrypt(ours_side), _decrypt(theirs_side)

    outcome = MergeOutcome()
    for data in (base_data, ours_data, theirs_data):
        _collect_secrets(data, outcome.secrets)
    result = merge_documents(base_data, ours_data, theirs_data)
    outcome.conflicts = result.conflicts
    if not result.conflicts:
        from credlib.validate import validate_data

        try:
            validate_data(result.data, file=name)
        except ValidationError as exc:
            outcome.problems = [p.render() for p in exc.problems]
    if ours_data == base_data and not result.conflicts and ours_side.meta == base_side.meta:
        # We changed nothing: their file, byte for byte (their ciphertext, data key and recipients).
        if theirs_side.raw != ours_side.raw:
            tmp = ours.with_name(ours.name + ".credlib-tmp")
            tmp.write_bytes(theirs_side.raw)
            os.replace(tmp, ours)
            outcome.wrote = True
        return outcome
    if result.data != ours_data:
        outcome.wrote = _edit_into(ours, name, result.data)
    have = _recipients(ours_side)
    want = merged_recipients(_recipients(base_side), have, _recipients(theirs_side))
    if want and want != have:
        removed = have - want
        _rekey(ours, name, want, rotate=bool(removed))
        outcome.wrote = True
        if want - have:
            outcome.notes.append(f"recipients added by the other side: {', '.join(sorted(want - have))}")
        if removed:
            outcome.notes.append(
                f"recipients removed by the other side: {', '.join(sorted(removed))}; "
                "the data key was rotated"
            )
    return outcome


def _collect_secrets(node: Any, out: set[str]) -> None:
    from credlib.gitops.sopsmeta import SECRET_FIELDS

    if isinstance(node, dict):
        for key, value in node.items():
            if key in SECRET_FIELDS and isinstance(value, str):
                out.add(value)
            else:
                _collect_secrets(value, out)
    elif isinstance(node, list):
        for item in node:
            _collect_secrets(item, out)


def render_report(outcome: MergeOutcome, display: str) -> str:
    """The per-field conflict report; no key of any side appears in it, not even in a notes field."""
    from credlib.redact import Scrubber

    return Scrubber(outcome.secrets)(_report_text(outcome, display))


def _report_text(outcome: MergeOutcome, display: str) -> str:
    lines: list[str] = []
    if outcome.conflicts:
        lines.append(
            f"CONFLICT (credlib): {display}: {len(outcome.conflicts)} field(s) changed on both sides:"
        )
        lines.extend("  " + c.render() for c in outcome.conflicts)
    if outcome.problems:
        lines.append(f"CONFLICT (credlib): {display}: the merged file does not validate:")
        lines.extend("  " + p for p in outcome.problems)
    if not outcome.clean:
        lines.append(
            "The file still decrypts and holds our side of each conflict. "
            f"Fix it with `credlib -f {display} edit`, then `git add {display}`. "
            f"Their version: `git show :3:{display}`."
        )
    lines.extend(f"note: {n}" for n in outcome.notes)
    return "\n".join(lines)
