"""`credlib check`: the offline pre-commit check of SPEC §7, on the encrypted text alone.

No key, no network: it reads the YAML as committed and checks that the sops metadata is there, that
every leaf the file's own selector covers (and every credlib secret field) is ``ENC[...]``, that no
plaintext value or comment looks like a key, that the plain structure validates, that the recipients
are those `.sops.yaml` asks for, and that no merge left conflict markers. Unlike ensure-sops style
hooks it understands partially encrypted files (``encrypted_regex`` + ``mac_only_encrypted``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credlib.gitops import sopsmeta
from credlib.gitops.patterns import find_age_secret_keys, find_secrets
from credlib.yamledit import YAML11_VALUE_TAG

_CONFLICT_RE = re.compile(r"^(?:<{7}|>{7}|\|{7})(?: |$)|^={7}$")
# Stand-in for an encrypted value when validating the structure without the key.
ENCRYPTED_PLACEHOLDER = "<encrypted>"


@dataclass(frozen=True)
class Finding:
    file: str
    rule: str
    message: str
    line: int | None = None
    path: str = ""

    def render(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        field_part = f" {self.path}:" if self.path else ""
        return f"{where}:{field_part} {self.message} [{self.rule}]"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass
class FileResult:
    file: str
    findings: list[Finding] = field(default_factory=list)
    names: list[tuple[str, str, int | None]] = field(default_factory=list)  # (name, id, line)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass
class _Walk:
    """What one pass over the parsed tree collects."""

    lines: dict[str, int] = field(default_factory=dict)  # field path -> 1-based line


def _to_python(node: Any, path: str, walk: _Walk, line: int | None) -> Any:
    """ruamel round-trip node -> plain containers and scalars (ENC values kept as strings)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if line is not None:
        walk.lines[path] = line
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            key_line = node.lc.key(key)[0] + 1 if node.lc.data and key in node.lc.data else None
            out[str(key)] = _to_python(value, child, walk, key_line)
        return out
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for index, value in enumerate(node):
            item_line = node.lc.item(index)[0] + 1 if node.lc.data and index in node.lc.data else None
            items.append(_to_python(value, f"{path}[{index}]", walk, item_line))
        return items
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, dt.datetime | dt.date):
        return node.isoformat()
    if str(getattr(node, "tag", "")) == YAML11_VALUE_TAG:
        return str(node.value)  # a lone `=`: YAML 1.1's value tag to ruamel, the string "=" to sops
    return node


def _stub_encrypted(node: Any) -> Any:
    """What `sops decrypt --output-type json` would give, with each ENC value replaced by a stand-in."""
    if isinstance(node, dict):
        return {k: _stub_encrypted(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_stub_encrypted(v) for v in node]
    if isinstance(node, str) and sopsmeta.is_encrypted_value(node):
        return _placeholder(node)
    return node


def _placeholder(enc: str) -> Any:
    kind = enc.rsplit("type:", 1)[-1].rstrip("]")
    return {"int": 0, "float": 0.0, "bool": False}.get(kind, ENCRYPTED_PLACEHOLDER)


@dataclass
class _ValueWalk:
    selector: sopsmeta.Selector
    lines: dict[str, int]
    marked: frozenset[str]  # paths whose head comment matches a comment selector
    file: str
    out: list[Finding] = field(default_factory=list)
    # Key paths repeat for every credential: decide each (regex searches) once.
    decided: dict[tuple[str, ...], bool] = field(default_factory=dict)

    def should_encrypt(self, keys: list[str]) -> bool:
        key = tuple(keys)
        if key not in self.decided:
            self.decided[key] = self.selector.decidable and self.selector.should_encrypt(keys)
        return self.decided[key]


def _check_selected_values(node: Any, keys: list[str], path: str, walk: _ValueWalk, marked: bool) -> None:
    marked = marked or path in walk.marked
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            _check_selected_values(value, [*keys, str(key)], child, walk, marked)
        return
    if isinstance(node, list):
        for index, value in enumerate(node):
            _check_selected_values(value, keys, f"{path}[{index}]", walk, marked)
        return
    if node is None or node == "":
        return
    selector = walk.selector
    is_secret_field = bool(keys) and keys[-1] in sopsmeta.SECRET_FIELDS
    if selector.kind == "encrypted_comment_regex":
        selected = marked
    elif selector.kind == "unencrypted_comment_regex":
        selected = not marked
    else:
        selected = walk.should_encrypt(keys)
    if not (is_secret_field or selected):
        return
    line = walk.lines.get(path)
    if isinstance(node, str) and node.startswith("ENC["):
        if not sopsmeta.is_encrypted_value(node):
            walk.out.append(
                Finding(walk.file, "malformed-ciphertext", "ENC[...] value is malformed", line, path)
            )
        return
    why = "a secret field" if is_secret_field else f"selected by the file's {selector.kind}"
    walk.out.append(Finding(walk.file, "plaintext-secret", f"value is not encrypted ({why})", line, path))


def _comment_marked(text_lines: list[str], lines: dict[str, int], regex: re.Pattern[str]) -> frozenset[str]:
    """Paths sops' comment selector picks: a comment matching it among the comment lines since the previous
    content line. sops matches the text after ``#`` as written, and encrypts the whole subtree below."""
    marked: set[str] = set()
    for path, number in lines.items():
        index = number - 2
        while index >= 0:
            stripped = text_lines[index].strip()
            if stripped and not stripped.startswith("#"):
                break
            if stripped and regex.search(stripped[1:]):
                marked.add(path)
                break
            index -= 1
    return frozenset(marked)


def _sops_block_lines(root: dict[str, Any], lines: dict[str, int]) -> range:
    """Line numbers (1-based) of the top-level `sops:` block, skipped by the key-pattern scan."""
    start = lines.get("sops")
    if start is None:
        return range(0)
    later = [lines[k] for k in root if k != "sops" and k in lines and lines[k] > start]
    return range(start, min(later) if later else 10**9)


def _load(text: str) -> tuple[Any, dict[str, int]]:
    """The document as plain Python values (ENC values as strings) and each field path's line.

    The fast line reader takes what sops writes; anything else goes through ruamel (same result, slower).
    """
    from credlib.gitops import blockyaml

    try:
        parsed = blockyaml.parse(text)
    except blockyaml.Unsupported:
        from ruamel.yaml import YAML

        walk = _Walk()
        return _to_python(YAML(typ="rt", pure=True).load(text), "", walk, None), walk.lines
    return parsed.root, parsed.lines


def _scan_text(
    text: str, file: str, skip: range, already: set[int], paths: dict[int, str] | None = None
) -> list[Finding]:
    """Key-like text anywhere (values, comments, invalid YAML); ``paths`` names the field on a line."""
    out: list[Finding] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if number in already:
            continue
        line = sopsmeta.ENC_ANYWHERE_RE.sub("ENC[]", raw)
        # The sops block is base64 armour: too random for the entropy rule, but a pasted key is still one.
        for match in find_secrets(line, entropy=number not in skip):
            in_comment = "#" in line[: match.start]
            where = "comment" if in_comment else "plaintext value"
            field_path = "" if in_comment or paths is None else paths.get(number, "")
            out.append(
                Finding(file, "key-like-text", f"{where} looks like a key ({match.rule})", number, field_path)
            )
    return out


def _check_metadata(meta: Any, file: str, line: int | None) -> list[Finding]:
    if not isinstance(meta, dict):
        return [
            Finding(file, "not-encrypted", "no sops metadata: the file is not sops-encrypted", line, "sops")
        ]
    out: list[Finding] = []
    for key in ("mac", "lastmodified", "version"):
        if not meta.get(key):
            out.append(Finding(file, "sops-metadata", f"sops metadata has no `{key}`", line, "sops"))
    if not sopsmeta.file_recipients(meta) and not any(
        meta.get(k) for k in ("pgp", "kms", "gcp_kms", "azure_kv", "hc_vault")
    ):
        out.append(Finding(file, "sops-metadata", "sops metadata lists no recipients", line, "sops"))
    return out


def _check_recipients(path: Path, meta: dict[str, Any], file: str) -> list[Finding]:
    config = sopsmeta.find_sops_config(path.parent)
    if config is None:
        return [Finding(file, "recipients", "no .sops.yaml found for this file", None, "sops.age")]
    try:
        found = sopsmeta.matching_rule(config, path)
    except (OSError, ValueError, re.error) as exc:
        return [Finding(file, "recipients", f"cannot read {config}: {exc}", None, "sops.age")]
    except Exception as exc:  # ruamel's YAMLError family has no common import-free base
        return [Finding(file, "recipients", f"cannot parse {config}: {type(exc).__name__}", None, "sops.age")]
    if found is None:
        return [
            Finding(file, "recipients", f"no creation rule in {config} matches this file", None, "sops.age")
        ]
    want = sopsmeta.rule_recipients(found[1])
    have = sopsmeta.file_recipients(meta)
    if want == have:
        return []
    parts = []
    if want - have:
        parts.append(f"missing {', '.join(sorted(want - have))}")
    if have - want:
        parts.append(f"not in .sops.yaml: {', '.join(sorted(have - want))}")
    return [
        Finding(
            file,
            "recipients",
            f"recipients differ from {config.name} rule {found[0]} ({'; '.join(parts)}); "
            "run `sops updatekeys -y` (or `credlib recipients add/rm`)",
            None,
            "sops.age",
        )
    ]


def _check_schema(plain: dict[str, Any], file: str, lines: dict[str, int]) -> list[Finding]:
    from credlib.errors import ValidationError
    from credlib.validate import validate_data

    data = {k: v for k, v in plain.items() if k != "sops"}
    try:
        validate_data(data, file=file, line_of=lines.get)
    except ValidationError as exc:
        return [Finding(file, "schema", p.message, p.line, p.path) for p in exc.problems]
    return []


def check_text(text: str, path: Path, *, display: str | None = None) -> FileResult:
    """Every finding for one credentials file's text; ``path`` locates `.sops.yaml`."""
    from ruamel.yaml.error import MarkedYAMLError

    file = display or str(path)
    result = FileResult(file)
    markers = [n for n, line in enumerate(text.splitlines(), 1) if _CONFLICT_RE.match(line)]
    if markers:
        for number in markers:
            result.findings.append(Finding(file, "conflict-marker", "merge conflict marker", number))
        result.findings.extend(_scan_text(text, file, range(0), set()))
        return result
    try:
        raw_tree, lines = _load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        result.findings.append(Finding(file, "yaml", f"invalid YAML: {exc.problem or exc.context}", line))
        result.findings.extend(_scan_text(text, file, range(0), set()))
        return result
    except Exception as exc:  # duplicate keys and friends
        result.findings.append(Finding(file, "yaml", f"invalid YAML: {type(exc).__name__}"))
        result.findings.extend(_scan_text(text, file, range(0), set()))
        return result
    if not isinstance(raw_tree, dict):
        result.findings.append(Finding(file, "yaml", "the file must be a YAML mapping"))
        result.findings.extend(_scan_text(text, file, range(0), set()))
        return result

    plain = _stub_encrypted(raw_tree)
    meta_line = lines.get("sops")
    meta = plain.get("sops")
    result.findings.extend(_check_metadata(meta, file, meta_line))
    selector = sopsmeta.Selector.from_metadata(meta if isinstance(meta, dict) else {})
    marked: frozenset[str] = frozenset()
    if selector.kind.endswith("regex"):
        try:
            regex = re.compile(selector.value)
        except re.error:
            result.findings.append(
                Finding(
                    file,
                    "sops-metadata",
                    f"`{selector.kind}` is not a valid regular expression",
                    meta_line,
                    f"sops.{selector.kind}",
                )
            )
            # Still enforce credlib's own secret fields below.
            selector = sopsmeta.Selector("invalid", selector.value)
        else:
            if selector.kind.endswith("comment_regex"):
                marked = _comment_marked(text.split("\n"), lines, regex)
    value_walk = _ValueWalk(selector, lines, marked, file)
    _check_selected_values({k: v for k, v in raw_tree.items() if k != "sops"}, [], "", value_walk, False)
    result.findings.extend(value_walk.out)
    reported = {f.line for f in value_walk.out if f.line is not None}
    # The most specific field on each line (a "- name: x" line holds both the item and its first key).
    paths: dict[int, str] = {}
    for field_path, number in lines.items():
        if len(field_path) > len(paths.get(number, "")):
            paths[number] = field_path
    result.findings.extend(_scan_text(text, file, _sops_block_lines(raw_tree, lines), reported, paths))
    if isinstance(meta, dict):
        result.findings.extend(_check_recipients(path, meta, file))
    result.findings.extend(_check_schema(plain, file, lines))
    for index, cred in enumerate(plain.get("credentials") or []):
        if isinstance(cred, dict) and isinstance(cred.get("name"), str):
            cid = cred.get("id") if isinstance(cred.get("id"), str) else ""
            result.names.append((cred["name"], str(cid), lines.get(f"credentials[{index}].name")))
    return result


def check_file(path: Path, *, display: str | None = None) -> FileResult:
    file = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileResult(file, [Finding(file, "io", f"cannot read: {exc.strerror}")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return FileResult(file, [Finding(file, "io", "not UTF-8 text")])
    return check_text(text, path, display=display)


def scan_file_for_keys(path: Path, *, display: str | None = None) -> FileResult:
    """For files that are not credentials files: refuse age secret keys and provider keys in plaintext."""
    file = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileResult(file, [Finding(file, "io", f"cannot read: {exc.strerror}")])
    if b"\0" in raw[:8192]:
        return FileResult(file)
    text = raw.decode("utf-8", errors="replace")
    result = FileResult(file)
    for number, line in enumerate(text.splitlines(), start=1):
        if find_age_secret_keys(line):
            result.findings.append(
                Finding(file, "age-secret-key", "an age secret key must never be committed", number)
            )
            continue
        line = sopsmeta.ENC_ANYWHERE_RE.sub("ENC[]", line)
        for match in find_secrets(line, entropy=False):
            result.findings.append(
                Finding(file, "key-like-text", f"looks like a plaintext key ({match.rule})", number)
            )
    return result


def expand_targets(paths: Iterable[Path]) -> list[Path]:
    """Files to check: a directory means its `*.yaml`/`*.yml` files (the credentials.d layout)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()))
        else:
            out.append(path)
    return out


def _names_only(path: Path) -> FileResult:
    """The credential names and ids of a file that is not itself being checked (no findings)."""
    result = FileResult(str(path))
    try:
        doc = sopsmeta.load_yaml_plain(path.read_text(encoding="utf-8"))
    except Exception:  # unreadable siblings are that file's own check's business
        return result
    creds = doc.get("credentials") if isinstance(doc, dict) else None
    for cred in creds if isinstance(creds, list) else []:
        if isinstance(cred, dict) and isinstance(cred.get("name"), str):
            cid = cred.get("id")
            result.names.append((cred["name"], cid if isinstance(cid, str) else "", None))
    return result


def _cross_file_names(results: list[FileResult]) -> list[Finding]:
    """Names and ids must be unique across the files of one credentials.d directory.

    pre-commit passes only the staged files: the directory's other files are read for their names too,
    so a name added to one file that another file already uses is caught."""
    out: list[Finding] = []
    groups: dict[str, list[FileResult]] = {}
    for res in results:
        parent = Path(res.file).parent
        if parent.name.endswith(".d"):
            groups.setdefault(str(parent), []).append(res)
    for directory, checked in groups.items():
        present = {Path(r.file).resolve() for r in checked}
        others = [_names_only(p) for p in expand_targets([Path(directory)]) if p.resolve() not in present]
        seen_names: dict[str, str] = {}
        seen_ids: dict[str, str] = {}
        for res in [*others, *checked]:
            for name, cid, line in res.names:
                folded = name.casefold()
                if folded in seen_names and seen_names[folded] != res.file:
                    out.append(
                        Finding(
                            res.file,
                            "duplicate-name",
                            f"name {name!r} is also used in {seen_names[folded]}",
                            line,
                            "name",
                        )
                    )
                seen_names.setdefault(folded, res.file)
                if cid:
                    if cid in seen_ids and seen_ids[cid] != res.file:
                        out.append(
                            Finding(
                                res.file,
                                "duplicate-id",
                                f"id {cid!r} is also used in {seen_ids[cid]}",
                                line,
                                "id",
                            )
                        )
                    seen_ids.setdefault(cid, res.file)
    return out


def check_paths(paths: Iterable[Path], *, scan_only: bool = False) -> list[FileResult]:
    files = expand_targets(paths)
    if scan_only:
        return [scan_file_for_keys(p, display=str(p)) for p in files]
    results = [check_file(p, display=str(p)) for p in files]
    for extra in _cross_file_names(results):
        for res in results:
            if res.file == extra.file:
                res.findings.append(extra)
    return results
