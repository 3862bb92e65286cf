"""File delivery: merge the rendered fragment into the tool's config file and write it atomically."""

from __future__ import annotations

import difflib
import os
import re
import time
from pathlib import Path
from typing import Any

from credlib.errors import CredlibError
from credlib.exports import formats
from credlib.exports.merge import ShapeError, merge_document
from credlib.exports.redaction import redact_text, scrub_secrets
from credlib.exports.render import RenderedFile, Rendering
from credlib.exports.targetplan import Change, TargetPlan
from credlib.state import State, atomic_write_private, sha256_text


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise CredlibError(f"{path} is a directory, not a file") from None
    except UnicodeDecodeError:
        raise CredlibError(f"{path} is not UTF-8 text; credlib will not overwrite it") from None
    except OSError as exc:
        raise CredlibError(f"cannot read {path}: {exc.strerror}") from None


def _check_writable(path: Path) -> None:
    """Fail at plan time, not half-way through apply, when the file or its folder cannot be written."""
    probe = path if path.exists() else path.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() and probe != path:
        raise CredlibError(f"cannot write {path}: {probe} is not a directory")
    if not os.access(probe, os.W_OK):
        raise CredlibError(f"cannot write {path}: permission denied on {probe}")


def _owned_for(state: State, target_name: str, path: Path) -> dict[str, list[str]] | None:
    record = state.get("owned", target_name) or {}
    files = record.get("files", {}) if isinstance(record, dict) else {}
    value = files.get(str(path))
    return value if isinstance(value, dict) else None


def _recorded_hash(state: State, target_name: str, path: Path) -> str | None:
    record = state.get("targets", target_name) or {}
    files = record.get("files", {}) if isinstance(record, dict) else {}
    value = files.get(str(path))
    return value if isinstance(value, str) else None


def _parse_existing(rendered: RenderedFile, text: str | None, ours_plain: bool) -> Any:
    if text is None:
        return None
    if ours_plain and rendered.file_format == "yaml":
        # Byte-for-byte what credlib wrote with its plain emitter: read it back without ruamel.
        try:
            return formats.parse_plain_yaml(text)
        except formats.FormatError:
            pass
    return formats.parse(rendered.file_format, text)


def _unified_diff(old: str | None, new: str, path: Path) -> str:
    if old is None:
        # A new file: every line is an addition (difflib would index the whole text for nothing).
        lines = new.splitlines(keepends=True)
        body = "".join("+" + (ln if ln.endswith("\n") else ln + "\n") for ln in lines)
        return f"--- /dev/null\n+++ {path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"
    return trimmed_unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), str(path))


_HUNK = re.compile(r"^@@ -(\d+)((?:,\d+)?) \+(\d+)((?:,\d+)?) @@")


def trimmed_unified_diff(a: list[str], b: list[str], name: str, context: int = 3) -> str:
    """A unified diff of ``a`` and ``b`` (difflib's format) without making difflib index the unchanged
    head and tail (a one-line edit in a 10,000-line config would otherwise cost a full matcher run):
    they are cut off beyond the context lines and the hunk numbers shifted back. Where an edit could
    be placed in more than one spot (a line inserted into a run of equal lines) it is shown after the
    common head, which difflib might place elsewhere; the diff still turns ``a`` into ``b``."""
    head = 0
    limit = min(len(a), len(b))
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    start = max(0, head - context)
    cut = max(0, tail - context)
    lines = difflib.unified_diff(a[start : len(a) - cut], b[start : len(b) - cut], fromfile=name, tofile=name)
    if not start:
        return "".join(lines)

    def shift(m: re.Match[str]) -> str:
        return f"@@ -{int(m.group(1)) + start}{m.group(2)} +{int(m.group(3)) + start}{m.group(4)} @@"

    return "".join(_HUNK.sub(shift, ln, count=1) if ln.startswith("@@ ") else ln for ln in lines)


def _recorded(state: State, target_name: str, section: str, path: Path) -> str | None:
    record = state.get("targets", target_name) or {}
    values = record.get(section, {}) if isinstance(record, dict) else {}
    value = values.get(str(path)) if isinstance(values, dict) else None
    return value if isinstance(value, str) else None


def _plan_file(plan: TargetPlan, rendered: RenderedFile, state: State, secrets: list[str]) -> dict[str, Any]:
    path = rendered.path
    assert path is not None
    existing_text = _read(path)
    current_hash = sha256_text(existing_text) if existing_text is not None else None
    recorded = _recorded_hash(state, plan.name, path)
    fragment_hash = sha256_text(rendered.text)
    item: dict[str, Any] = {
        "path": str(path),
        "role": rendered.role,
        "old_hash": current_hash,
        "exists": existing_text is not None,
        "content": None,
        "new_hash": current_hash,
        "fragment": fragment_hash,
        "owned": _owned_for(state, plan.name, path) or {},
        "drift": False,
        "only_removals": False,
    }
    if (
        existing_text is not None
        and recorded == current_hash
        and _recorded(state, plan.name, "fragments", path) == fragment_hash
    ):
        # The file is what credlib last wrote and the rendering has not changed: merging again
        # would change nothing, so the (slow, for big YAML files) parse is skipped.
        return item
    try:
        existing = _parse_existing(
            rendered,
            existing_text,
            recorded == current_hash and _recorded(state, plan.name, "writers", path) == "plain",
        )
    except formats.FormatError as exc:
        raise CredlibError(
            f"{path}: cannot parse the existing {rendered.file_format} file ({exc}); "
            "credlib will not overwrite it"
        ) from None
    if existing is None:
        existing = (
            formats.parse(rendered.file_format, "") if rendered.file_format in ("toml", "dotenv") else {}
        )
    try:
        result = merge_document(
            existing,
            rendered.document,
            rendered.merge,
            _owned_for(state, plan.name, path),
            rendered.file_format,
            fragment_plain=rendered.plain,
        )
    except ShapeError as exc:
        raise CredlibError(f"{path}: {exc.message}") from None
    new_text: str | None = formats.dump(rendered.file_format, result.document)
    if existing_text is None and not result.changes:
        new_text = None  # nothing to deliver: do not create an empty file
    # A document whose owned entries already match is left byte-for-byte alone (the user's layout wins).
    writes = (
        new_text is not None and new_text != existing_text and (bool(result.changes) or existing_text is None)
    )
    drift = bool(writes and existing_text is not None and recorded and recorded != current_hash)
    if writes:
        _check_writable(path)
    prefix = f"{path.name}: " if rendered.role != "main" else ""
    plan.changes.extend(Change(c.op, prefix + c.key, c.summary) for c in result.changes)
    if writes:
        assert new_text is not None
        diff = _unified_diff(existing_text, new_text, path)
        # A new file holds only what credlib rendered, so its known keys are all there is to hide.
        plan.diff += scrub_secrets(diff, secrets) if existing_text is None else redact_text(diff, secrets)
    item.update(
        writer="plain" if formats.is_plain(result.document) else "other",
        content=new_text if writes else None,
        new_hash=sha256_text(new_text) if new_text is not None else current_hash,
        owned=result.owned,
        drift=drift,
        only_removals=bool(result.changes) and all(c.op == "-" for c in result.changes),
    )
    return item


async def plan_file(plan: TargetPlan, rendering: Rendering, state: State) -> TargetPlan:
    items: list[dict[str, Any]] = []
    for rendered in rendering.files:
        if rendered.path is None:
            return plan.fail(f"target {plan.name!r}: no path (set `path:` on the target)")
        plan.paths.append(str(rendered.path))
        try:
            items.append(_plan_file(plan, rendered, state, rendering.secrets))
        except CredlibError as exc:
            return plan.fail(f"target {plan.name!r}: {redact_text(exc.message, rendering.secrets)}")
    plan.private["files"] = items
    writing = [i for i in items if i["content"] is not None]
    main = items[0] if items else None
    if any(i["drift"] for i in items):
        plan.action, plan.drift = "drift", True
    elif not writing:
        plan.action = "noop"
    elif main is not None and not main["exists"] and main["content"] is not None:
        plan.action = "create"
    elif all(i["only_removals"] for i in writing):
        plan.action = "delete"
    else:
        plan.action = "update"
    return plan


def _make_private_dirs(directory: Path) -> None:
    """Create missing parents with 0700 (mkdir(parents=True) would use the umask for them)."""
    missing: list[Path] = []
    probe = directory
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)


async def apply_file(plan: TargetPlan, state: State) -> TargetPlan:
    items: list[dict[str, Any]] = plan.private.get("files", [])
    written = 0
    for index, item in enumerate(items):
        path = Path(item["path"])
        if item["content"] is None:
            continue
        problem = _write(path, item)
        if problem:
            # Files written before this one stay written: record them, so the next plan knows.
            _record(state, plan, [i for i in items[:index] if i["content"] is not None])
            return _failed(plan, problem)
        written += 1
    _record(state, plan, items)
    plan.outcome = f"written ({written} file{'s' if written != 1 else ''})" if written else "unchanged"
    plan.private = {}
    return plan


def _write(path: Path, item: dict[str, Any]) -> str | None:
    """Write one planned file; the reason it could not be written, or None."""
    try:
        now_text = _read(path)
    except CredlibError as exc:
        return exc.message
    now_hash = sha256_text(now_text) if now_text is not None else None
    if now_hash != item["old_hash"]:
        return f"{path} changed since the plan was made; run plan again"
    try:
        _make_private_dirs(path.parent)
        atomic_write_private(path, item["content"].encode("utf-8"))
    except CredlibError as exc:
        return exc.message
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror}"
    return None


def _record(state: State, plan: TargetPlan, items: list[dict[str, Any]]) -> None:
    """Merge what these files now hold into the target's state records (hashes only)."""
    if not items:
        return
    previous = state.get("targets", plan.name)
    record: dict[str, Any] = dict(previous) if isinstance(previous, dict) else {}
    sections = {name: dict(record.get(name) or {}) for name in ("files", "fragments", "writers")}
    owned_prev = state.get("owned", plan.name)
    owned_files = dict((owned_prev or {}).get("files", {})) if isinstance(owned_prev, dict) else {}
    for item in items:
        if item["new_hash"] is not None:
            sections["files"][item["path"]] = item["new_hash"]
        sections["fragments"][item["path"]] = item["fragment"]
        sections["writers"][item["path"]] = item.get("writer") or sections["writers"].get(item["path"])
        owned_files[item["path"]] = item["owned"]
    main = plan.paths[0] if plan.paths else items[0]["path"]
    record.update(sections)
    record.update(
        hash=sections["files"].get(main),
        type=plan.type,
        written_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    state.record("targets", plan.name, record)
    state.record("owned", plan.name, {"files": owned_files})


def _failed(plan: TargetPlan, message: str) -> TargetPlan:
    plan.fail(f"target {plan.name!r}: {message}")
    plan.outcome = "failed"
    return plan
