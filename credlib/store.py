"""Reading and changing credentials files (SPEC §1).

Reads: one ``sops decrypt --output-type json`` per file, then ``credlib.validate`` — no YAML parsing
on the happy path. Writes: the would-be result is validated first, and the file is replaced
atomically only when everything succeeded, so on any error it stays byte-identical. How each change
reaches the file keeps ``git diff`` minimal:

- a plain single-line value (notes, base_url, name …): spliced into the text; no sops run, so
  neither ``mac`` nor ``lastmodified`` changes (the file is ``mac_only_encrypted``);
- one secret: ``sops set --value-stdin`` (value, ``lastmodified`` and ``mac`` change);
- anything structural (add, remove, lists, new keys): one ``sops edit`` with a scripted editor,
  which keeps every unchanged ciphertext.
"""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from credlib import sops
from credlib.errors import (
    FileAccessError,
    NotFoundError,
    ProblemList,
    UsageError,
    ValidationError,
)
from credlib.model import Config, Credential
from credlib.schema import CREDENTIAL_FIELDS, Field
from credlib.validate import _Checker, slug, validate_data, with_lines

SCHEMA_FILE = "credlib.schema.json"
MODELINE = f"# yaml-language-server: $schema=./{SCHEMA_FILE}"
CREDENTIAL_KEY_ORDER = tuple(f.name for f in CREDENTIAL_FIELDS)


# --- reading --------------------------------------------------------------------------------------


def files_of(path: str | Path) -> list[Path]:
    """The credentials files behind ``path``: the file itself, or every *.yaml/*.yml in a directory."""
    p = Path(path).expanduser()
    if p.is_dir():
        found = sorted(
            f for f in p.iterdir()
            if f.is_file() and f.suffix in (".yaml", ".yml") and not f.name.startswith(".")
        )
        if not found:
            raise FileAccessError(f"{p} holds no *.yaml credentials files")
        return found
    if not p.exists():
        raise FileAccessError(
            f"{p} does not exist",
            hint="create it with `credlib init`, or point -f/--file (or CREDLIB_FILE) at your file",
        )
    return [p]


def _load_file(path: Path) -> Config:
    return _load_file_raw(path)[1]


def _load_file_raw(path: Path) -> tuple[dict[str, Any], Config]:
    """The decrypted document and its validated Config (writers need both; one sops run)."""
    data = sops.decrypt_json(path)
    try:
        return data, validate_data(data, file=str(path))
    except ValidationError as exc:
        raise _located(exc, path) from None


def _located(exc: ValidationError, path: Path) -> ValidationError:
    """Add line numbers from the encrypted file's text (plain fields are readable there)."""
    from credlib.yamledit import line_locator

    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return exc
    return with_lines(exc, line_locator(text))


def load_config(path: str | Path) -> Config:
    """Decrypt and validate a credentials file, or every file of a credentials.d/ directory."""
    from credlib.redact import remember

    files = files_of(path)
    if len(files) == 1 and not Path(path).expanduser().is_dir():
        config = _load_file(files[0])
    else:
        from concurrent.futures import ThreadPoolExecutor

        # One sops process per file; they are independent, so run them side by side.
        with ThreadPoolExecutor(max_workers=min(8, len(files))) as pool:
            configs = list(pool.map(_load_file, files))
        config = merge_configs(configs, str(path))
    remember(config.secrets())
    return config


def merge_configs(configs: Sequence[Config], path: str) -> Config:
    """One Config from several files; names and ids must be unique across all of them.

    Each file's ``defaults`` already applied to its own credentials while it was validated; the
    merged (global) defaults — limits and timeout — are those of the first file that sets any.
    """
    problems = ProblemList(file=path)
    chk = _Checker(problems, None)
    creds: list[Credential] = []
    for cfg in configs:
        creds.extend(cfg.credentials)
    from credlib.model import Defaults

    defaults = next((c.defaults for c in configs if c.defaults != Defaults()), Defaults())
    targets = [t for cfg in configs for t in cfg.targets]
    _check_unique_across(chk, creds)
    names = [t.name for t in targets]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.add("targets", f"target name {dup!r} is used in more than one file")
    problems.raise_if_any()
    return Config(
        version=configs[0].version,
        defaults=defaults,
        credentials=tuple(creds),
        targets=tuple(targets),
        path=path,
    )


def _check_unique_across(chk: _Checker, creds: list[Credential]) -> None:
    names: dict[str, Credential] = {}
    ids: dict[str, Credential] = {}
    for cred in creds:
        folded = unicodedata.normalize("NFKC", cred.name).casefold()
        other = names.get(folded)
        if other is not None:
            chk.problems.items.append(_cross_problem(cred, f"duplicate name {cred.name!r} (also in "
                                                             f"{other.source_file})", "name"))
        names.setdefault(folded, cred)
        other = ids.get(cred.id)
        if other is not None:
            chk.problems.items.append(_cross_problem(cred, f"duplicate id {cred.id!r} (also in "
                                                             f"{other.source_file})", "id"))
        ids.setdefault(cred.id, cred)


def _cross_problem(cred: Credential, message: str, field: str) -> Any:
    from credlib.errors import Problem

    return Problem(message=message, path=f"credentials[{cred.index}].{field}", file=cred.source_file)


def find_credential(config: Config, name: str) -> Credential:
    cred = config.find(name)
    if cred is None:
        folded = unicodedata.normalize("NFKC", name).casefold()
        for c in config.credentials:
            if unicodedata.normalize("NFKC", c.name).casefold() == folded:
                return c
        raise NotFoundError(f"no credential named {name!r} in {config.path}",
                            hint="`credlib ls` lists them")
    return cred


# --- writing --------------------------------------------------------------------------------------


def create_file(path: str | Path, data: dict[str, Any], *, header: str = MODELINE) -> None:
    """Create a new encrypted file from ``data`` (validated first); never overwrites."""
    target = Path(path).expanduser()
    if target.exists():
        raise FileAccessError(f"{target} already exists; credlib never overwrites it")
    validate_data(data, file=str(target))
    sops.encrypt_new(target, data, header=header)


def _single_file(path: str | Path, name: str | None = None) -> tuple[Path, dict[str, Any], Config]:
    """The one file a change goes to (the one holding ``name`` in a directory), decrypted and valid."""
    files = files_of(path)
    if name is not None and len(files) > 1:
        config = load_config(path)
        cred = find_credential(config, name)
        target = Path(cred.source_file)
        return (target, *_load_file_raw(target))
    return (files[0], *_load_file_raw(files[0]))


def _validated_transform(
    target: Path,
    change: Callable[[Any, dict[str, Any]], None],
    *,
    header: str = "",
    keeps_indexes: bool = True,
) -> Callable[[str], str | None]:
    """A sops-edit transform: apply ``change`` to the round-trip doc and the plain data, validate both.

    ``header``: a comment line the file must start with (the schema modeline), added when missing.
    ``keeps_indexes``: False when ``change`` shifts credentials (a removal): then problems with a
    credential get no line, since the file's line for that index is another credential's.
    """
    from credlib.yamledit import dump_yaml, load_plain, load_roundtrip, to_plain

    def transform(text: str) -> str | None:
        doc = load_roundtrip(text)
        plain = to_plain(doc)  # a plain copy, taken before ``change`` touches ``doc``
        before = len(plain.get("credentials") or []) if keeps_indexes and isinstance(plain, dict) else 0
        change(doc, plain)
        try:
            validate_data(plain, file=str(target))
        except ValidationError as exc:
            raise with_lines(exc, _file_lines(text, before)) from None
        new_text = dump_yaml(doc)
        if header and "yaml-language-server:" not in text.split("\n", 1)[0]:
            new_text = header + "\n" + new_text
        if load_plain(new_text) != plain:  # the two views must agree, or we would write a surprise
            raise AssertionError("round-trip edit and plain edit disagree")
        return new_text

    return transform


def _file_lines(text: str, existing: int) -> Callable[[str], int | None]:
    """Lines in the file for a problem found in an edited document. The decrypted text has the file's
    layout, so its lines are the file's; a credential the edit appends (index ``existing`` or more)
    is not in the file yet and gets no line. Callers keep existing indexes (append, change in place)."""
    from credlib.yamledit import line_locator

    locate = line_locator(text)

    def line_of(path: str) -> int | None:
        match = re.match(r"credentials\[(\d+)\]", path)
        return None if match and int(match.group(1)) >= existing else locate(path)

    return line_of


def _ordered_credential(item: dict[str, Any]) -> Any:
    from ruamel.yaml.comments import CommentedMap

    out = CommentedMap()
    for key in CREDENTIAL_KEY_ORDER:
        if key in item:
            out[key] = item[key]
    for key, value in item.items():
        if key not in out:
            out[key] = value
    return out


def normalize_item(item: dict[str, Any]) -> dict[str, Any]:
    """What ``add``/``import`` store: trimmed strings, normalized base_url (invalid ones are left for
    validation to report with their field path)."""
    from credlib.urls import normalize_base_url

    out = dict(item)
    for key in ("name", "api_key", "notes"):
        if isinstance(out.get(key), str):
            out[key] = out[key].strip()
    if isinstance(out.get("base_url"), str):
        with contextlib.suppress(ValueError):
            out["base_url"] = normalize_base_url(out["base_url"], out.get("api_type", "openai-compatible"))
    for key in ("tags", "models"):
        if key in out and not out[key]:
            del out[key]
    if not out.get("notes"):
        out.pop("notes", None)
    return out


def add_credentials(path: str | Path, items: list[dict[str, Any]]) -> int:
    """Append credentials (one ``sops edit``); validates the result first. Returns how many were added."""
    if not items:
        return 0
    target = files_of(path)[-1] if Path(path).expanduser().is_dir() else Path(path).expanduser()
    if not target.exists():
        raise FileAccessError(f"{target} does not exist", hint="create it with `credlib init`")
    normalized = [normalize_item(i) for i in items]

    def change(doc: Any, plain: dict[str, Any]) -> None:
        from ruamel.yaml.comments import CommentedSeq

        if doc.get("credentials") is None:
            doc["credentials"] = CommentedSeq()
        if plain.get("credentials") is None:
            plain["credentials"] = []
        for item in normalized:
            doc["credentials"].append(_ordered_credential(item))
            plain["credentials"].append(dict(item))

    if Path(path).expanduser().is_dir():
        # Names and ids must stay unique across every file of the directory.
        existing = load_config(path)
        probe = [*({"name": c.name, "id": c.id} for c in existing.credentials)]
        _check_new_names(probe, normalized, str(target))
    sops.edit_with(target, _validated_transform(target, change, header=MODELINE))
    return len(items)


def _check_new_names(existing: list[dict[str, str]], new: list[dict[str, Any]], file: str) -> None:
    problems = ProblemList(file=file)
    names = {unicodedata.normalize("NFKC", e["name"]).casefold() for e in existing}
    ids = {e["id"] for e in existing}
    for i, item in enumerate(new):
        name = str(item.get("name", ""))
        if unicodedata.normalize("NFKC", name).casefold() in names:
            problems.add(f"credentials[+{i}].name", f"duplicate name {name!r}")
        cid = str(item.get("id") or slug(name))
        if cid in ids:
            problems.add(f"credentials[+{i}].id", f"duplicate id {cid!r}")
    problems.raise_if_any()


def remove_credential(path: str | Path, name: str) -> Credential:
    target, _, config = _single_file(path, name)
    cred = find_credential(config, name)

    def change(doc: Any, plain: dict[str, Any]) -> None:
        idx = _index_in(plain, cred)
        del doc["credentials"][idx]
        del plain["credentials"][idx]

    sops.edit_with(target, _validated_transform(target, change, keeps_indexes=False))
    return cred


def _index_in(plain: dict[str, Any], cred: Credential) -> int:
    """The credential's index in a freshly decrypted document (guards against a concurrent edit)."""
    items = plain.get("credentials") or []
    if cred.index < len(items) and isinstance(items[cred.index], dict) \
            and items[cred.index].get("name", "").strip() == cred.name:
        return cred.index
    for i, item in enumerate(items):
        if isinstance(item, dict) and str(item.get("name", "")).strip() == cred.name:
            return i
    raise NotFoundError(f"credential {cred.name!r} disappeared while editing")


def rename_credential(path: str | Path, old: str, new: str) -> Credential:
    """Rename; a credential without an explicit id keeps its old id (exports and state key on it)."""
    target, raw, config = _single_file(path, old)
    cred = find_credential(config, old)
    new = new.strip()
    if not new:
        raise UsageError("the new name must not be empty")
    pin_id = slug(new) != cred.id
    raw_item = (raw.get("credentials") or [])[cred.index]
    explicit_id = isinstance(raw_item, dict) and "id" in raw_item
    if explicit_id or not pin_id:
        _set_field(target, cred.name, ["name"], new)
        return cred

    def change(doc: Any, plain: dict[str, Any]) -> None:
        idx = _index_in(plain, cred)
        item = doc["credentials"][idx]
        item["name"] = new
        keys = list(item.keys())
        item.insert(keys.index("name") + 1, "id", cred.id)
        plain["credentials"][idx]["name"] = new
        plain["credentials"][idx]["id"] = cred.id

    sops.edit_with(target, _validated_transform(target, change))
    return cred


def _field_spec(field_path: list[str]) -> Field:
    fields = CREDENTIAL_FIELDS
    spec: Field | None = None
    for i, part in enumerate(field_path):
        spec = next((f for f in fields if f.name == part), None)
        if spec is None:
            if i > 0 and field_path[i - 1] == "mapping":
                return Field(part, "string", "metric path")
            known = ", ".join(f.name for f in fields)
            raise UsageError(f"unknown field {'.'.join(field_path)!r} (known: {known})")
        if spec.kind == "map" and i + 1 < len(field_path):
            if field_path[i + 1] not in spec.map_keys:
                raise UsageError(f"unknown metric {field_path[i + 1]!r} (known: {', '.join(spec.map_keys)})")
            return Field(field_path[i + 1], "string", "metric path")
        fields = spec.fields
    assert spec is not None
    return spec


def parse_field_value(spec: Field, value: object) -> object:
    """A command-line string -> the field's type (lists are comma-separated; "" clears)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text == "" and not spec.required:
        return None
    if spec.kind == "array":
        return [part.strip() for part in text.split(",") if part.strip()]
    if spec.kind == "boolean":
        lowered = text.lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
        raise UsageError(f"{spec.name} must be true or false")
    if spec.kind in ("integer", "number"):
        try:
            return int(text) if spec.kind == "integer" or re.fullmatch(r"-?\d+", text) else float(text)
        except ValueError:
            raise UsageError(f"{spec.name} must be a number") from None
    if spec.kind in ("object", "map"):
        raise UsageError(f"{spec.name} is a mapping; set its fields one by one ({spec.name}.FIELD)")
    return value if spec.secret else text


def _line_has_comment(line: str) -> bool:
    """A ``#`` at the start or after a blank, outside quotes (block scalar text may look like one:
    that only costs a slower but equally correct path)."""
    quote = ""
    prev = " "
    i = 0
    while i < len(line):
        ch = line[i]
        if quote == '"':
            if ch == "\\":
                i += 1
            elif ch == '"':
                quote = ""
        elif quote == "'":
            if ch == "'" and line[i + 1 : i + 2] == "'":
                i += 1  # '' is an escaped quote inside the string
            elif ch == "'":
                quote = ""
        elif ch in "\"'" and prev in " :-[{,":
            quote = ch
        elif ch == "#" and prev in " \t":
            return True
        prev = ch
        i += 1
    return False


def _has_comments_in_body(text: str) -> bool:
    """True if any comment follows the first key: sops counts such comments as list items."""
    seen_key = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not seen_key:
            if stripped.startswith("#"):
                continue
            seen_key = True
        if "#" in line and _line_has_comment(line):
            return True
    return False


def set_field(path: str | Path, name: str, field: str, value: object) -> Credential:
    """Set one field of one credential (``telemetry.method`` style paths reach nested fields).

    ``value`` None removes an optional field. Validates the would-be file before writing. Setting
    ``name`` is a rename (the id is kept, see ``rename_credential``).
    """
    field_path = [p for p in field.split(".") if p]
    if field_path == ["name"] and isinstance(value, str):
        return rename_credential(path, name, value)
    return _set_field(path, name, field_path, value)


def _set_field(path: str | Path, name: str, field_path: list[str], value: object) -> Credential:
    target, raw, config = _single_file(path, name)
    cred = find_credential(config, name)
    field = ".".join(field_path)
    spec = _field_spec(field_path)
    parsed = parse_field_value(spec, value)
    if field_path == ["base_url"] and isinstance(parsed, str):
        from credlib.urls import normalize_base_url

        try:
            parsed = normalize_base_url(parsed, cred.api_type)
        except ValueError as exc:
            raise _located(ValidationError([_problem(target, cred, field, str(exc))]), target) from None
    idx = _index_in(raw, cred)
    after = _with_value(raw, ["credentials", idx, *field_path], parsed)
    try:
        validate_data(after, file=str(target))
    except ValidationError as exc:
        raise _located(exc, target) from None
    if _current(raw, ["credentials", idx, *field_path]) == parsed:
        return cred  # nothing to do; the file stays byte-identical
    index: list[str | int] = ["credentials", idx, *field_path]
    if spec.secret and parsed is not None:
        text = target.read_text(encoding="utf-8")
        if not _has_comments_in_body(text):
            sops.set_value(target, index, parsed)
            return cred
    elif (not spec.secret and parsed is not None and not isinstance(parsed, list)
          and _splice_plain(target, index, parsed)):
        return cred

    def change(doc: Any, plain: dict[str, Any]) -> None:
        i = _index_in(plain, cred)
        _apply(doc, ["credentials", i, *field_path], parsed, roundtrip=True)
        _apply(plain, ["credentials", i, *field_path], parsed, roundtrip=False)

    sops.edit_with(target, _validated_transform(target, change))
    return cred


def _problem(target: Path, cred: Credential, field: str, message: str) -> Any:
    from credlib.errors import Problem

    return Problem(message=message, path=f"credentials[{cred.index}].{field}", file=str(target))


def _splice_plain(target: Path, index: list[str | int], value: object) -> bool:
    from credlib.state import atomic_write_private
    from credlib.yamledit import splice_scalar

    text = target.read_text(encoding="utf-8")
    new_text = splice_scalar(text, index, value)
    if new_text is None:
        return False
    mode = target.stat().st_mode & 0o777
    atomic_write_private(target, new_text.encode("utf-8"), mode=mode)
    return True


def _current(data: Any, index: list[str | int]) -> object:
    node = data
    for token in index:
        try:
            node = node[token]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _with_value(data: dict[str, Any], index: list[str | int], value: object) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(data)
    _apply(out, index, value, roundtrip=False)
    return out


def _apply(doc: Any, index: list[str | int], value: object, *, roundtrip: bool) -> None:
    node = doc
    for token in index[:-1]:
        if isinstance(token, str) and (token not in node or node[token] is None):
            if value is None:
                return
            if roundtrip:
                from ruamel.yaml.comments import CommentedMap

                node[token] = CommentedMap()
            else:
                node[token] = {}
        node = node[token]
    last = index[-1]
    if value is None:
        if isinstance(node, dict):
            node.pop(last, None)
        return
    node[last] = value


def write_schema_file(directory: Path) -> Path:
    """The JSON Schema beside the credentials file, for the modeline's editors."""
    import json

    from credlib.schema import json_schema
    from credlib.state import atomic_write_private

    out = directory / SCHEMA_FILE
    atomic_write_private(out, (json.dumps(json_schema(), indent=2) + "\n").encode(), mode=0o644)
    return out


def ensure_writable_dir(directory: Path) -> None:
    if not os.access(directory, os.W_OK):
        raise FileAccessError(f"cannot write in {directory}: permission denied")
