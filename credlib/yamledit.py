"""YAML text helpers for the plain (unencrypted) parts of a credentials file. ruamel is imported lazily.

- ``line_locator``: field path -> line number, from the encrypted file's text (only used when a
  validation problem has to be located; the happy path never parses YAML on our side).
- ``load_plain``: parse a document strictly (duplicate keys rejected, like sops does), with error
  messages that name the line but never quote the content (a key may be on that line).
- ``splice_scalar``: replace one single-line scalar in the file text, leaving every other byte alone —
  so ``credlib set NAME notes …`` changes exactly one line and neither sops' ``mac`` nor its
  ``lastmodified`` (valid because the file uses ``mac_only_encrypted``).
- ``roundtrip_edit``: comment-keeping edit of a decrypted document, for ``sops edit`` batches (sops
  re-emits the result in its own format, so our dump style never reaches the file).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# How go-yaml v3 (sops' emitter) writes a one-line string, for the subset of strings whose style we
# can predict exactly; ``scalar_text`` returns None for the rest (the caller then lets sops write it).
# Printable for go-yaml, besides tab: ASCII 0x20-0x7E and the BMP outside surrogates, U+FFFE/FFFF and
# the BOM (anything else it escapes in double quotes).
_PRINTABLE = re.compile(r"^[\t\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd]*$")
# Strings go-yaml double-quotes because plain they would read as another type: its resolve table and
# the YAML 1.1 booleans it quotes for older parsers (number-like text is left to sops, below).
_RESOLVES_TO_OTHER_TYPE = re.compile(
    r"^(|~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|"
    r"Off|OFF|<<|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$"
)
# Strings starting like a number or a timestamp: go-yaml's number and date parsing is not worth
# imitating for the few values that look like this, so they are left to sops.
_NUMBER_LIKE = re.compile(r"^([-+.]?[0-9.][0-9A-Za-z_.:+-]*|[0-9]{4}-.*|[-+.].*)$")
_FIRST_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")


def parse_path(path: str) -> list[str | int]:
    out: list[str | int] = []
    for match in _PATH_TOKEN.finditer(path):
        if match.group(2) is not None:
            out.append(int(match.group(2)))
        else:
            out.append(match.group(1))
    return out


def _rt_yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=4, sequence=6, offset=4)
    return yaml


def _safe_error(exc: Exception) -> str:
    """ruamel's message without the snippet of the offending line (it may contain a key)."""
    problem = getattr(exc, "problem", None) or "cannot be parsed"
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"invalid YAML: {problem}"


def load_roundtrip(text: str) -> Any:
    from ruamel.yaml.error import YAMLError

    try:
        return _rt_yaml().load(text)
    except YAMLError as exc:
        raise ValueError(_safe_error(exc)) from None
    except Exception as exc:  # ruamel raises a few non-YAMLError types for duplicate keys
        raise ValueError(_safe_error(exc)) from None


YAML11_VALUE_TAG = "tag:yaml.org,2002:value"


def to_plain(node: Any) -> Any:
    """A round-trip node as sops' JSON gives it (dates as ISO strings), to compare with decrypted data."""
    import datetime

    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, datetime.datetime):
        text = node.isoformat()
        return text.replace("+00:00", "Z") if node.tzinfo else text + "Z"
    if isinstance(node, datetime.date):
        return node.isoformat()
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if str(getattr(node, "tag", "")) == YAML11_VALUE_TAG:
        # YAML 1.1 reads a lone `=` as its "value" tag; go-yaml (sops) reads the string "=".
        return str(node.value)
    return node


def load_plain(text: str) -> Any:
    """Parse YAML into plain dict/list/str/int/float/bool (dates as ISO strings, as sops' JSON has)."""
    return to_plain(load_roundtrip(text))


def _node_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return None
    return int(lc.line) + 1


def locate(doc: Any, path: str) -> int | None:
    """1-based line of ``path`` in a round-trip document (the nearest existing ancestor if missing)."""
    node = doc
    line = _node_line(doc)
    for token in parse_path(path):
        try:
            if isinstance(token, int) and isinstance(node, list) and token < len(node):
                pos = node.lc.item(token)  # type: ignore[attr-defined]
                line = pos[0] + 1
                node = node[token]
            elif isinstance(token, str) and isinstance(node, dict) and token in node:
                pos = node.lc.key(token)  # type: ignore[attr-defined]
                line = pos[0] + 1
                node = node[token]
            else:
                break
        except (AttributeError, KeyError, IndexError, TypeError):
            break
    return line


def line_locator(text: str) -> Callable[[str], int | None]:
    """A ``line_of(path)`` for ``credlib.validate``; returns None for everything if ``text`` is not YAML."""
    try:
        doc = load_roundtrip(text)
    except ValueError:
        return lambda _path: None
    return lambda path: locate(doc, path)


def dump_yaml(data: Any) -> str:
    yaml = _rt_yaml()
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def scalar_text(value: object) -> str | None:
    """``value`` exactly as go-yaml (sops) writes it on one line, or None when we cannot be sure (the
    caller then leaves the write to sops). Same text means sops never rewrites a line credlib wrote."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if not isinstance(value, str) or not _PRINTABLE.match(value) or _NUMBER_LIKE.match(value):
        return None  # floats too: Go's shortest 'g' formatting differs from Python's repr
    if _RESOLVES_TO_OTHER_TYPE.match(value):
        return json.dumps(value, ensure_ascii=False)
    if _plain_allowed(value):
        return value
    if "\t" in value:  # no tab in single quotes: go-yaml double-quotes and escapes it
        return json.dumps(value, ensure_ascii=False)
    return "'" + value.replace("'", "''") + "'"


def _plain_allowed(value: str) -> bool:
    """go-yaml's analysis of a scalar in block context (emitterc.go, yaml_emitter_analyze_scalar)."""
    if value[0] == " " or value[-1] == " " or "\t" in value or value.startswith(("---", "...")):
        return False
    first, rest = value[0], value[1:]
    followed_by_blank = len(value) == 1 or value[1] in " \t"
    if first in _FIRST_INDICATORS or (first in "?:-" and followed_by_blank):
        return False
    # Later on: ": " (or a final ":") starts a value, " #" a comment.
    return not (": " in rest or rest.endswith(":") or " #" in value)


def splice_scalar(text: str, path: list[str | int], value: object) -> str | None:
    """Replace the single-line scalar at ``path`` in ``text``; None if that cannot be done safely.

    The caller's contract: the result parses to exactly the old document with that one value changed
    (checked here by re-parsing), so a surprise in the file's layout can never corrupt it.
    """
    new_scalar = scalar_text(value)
    if new_scalar is None or not path or not isinstance(path[-1], str):
        return None
    try:
        doc = load_roundtrip(text)
    except ValueError:
        return None
    parent = doc
    for token in path[:-1]:
        try:
            parent = parent[token]
        except (KeyError, IndexError, TypeError):
            return None
    key = path[-1]
    if not isinstance(parent, dict) or key not in parent:
        return None
    old = parent[key]
    if isinstance(old, dict | list):
        return None
    try:
        line_no, col = parent.lc.value(key)  # type: ignore[attr-defined]
    except (AttributeError, KeyError):
        return None
    lines = text.splitlines(keepends=True)
    if line_no >= len(lines):
        return None
    line = lines[line_no]
    body = line.rstrip("\r\n")
    ending = line[len(body):]
    rest = body[col:]
    end = _scalar_end(rest)
    if end is None:
        return None
    if not _scalar_ends_on_line(lines, line_no, parent.lc.key(key)[1]):  # type: ignore[attr-defined]
        return None
    # Local proof that the splice is exact (re-parsing a large file would cost seconds): the text we
    # replace parses to the old value, the text we put parses to the new one, and the value does
    # not continue on the next line.
    old_text = rest[:end]
    if not _parses_to(old_text, to_plain(old)) or not _parses_to(new_scalar, value):
        return None
    lines[line_no] = body[:col] + new_scalar + rest[end:] + ending
    return "".join(lines)


def _parses_to(scalar: str, expected: object) -> bool:
    try:
        return bool(load_plain(f"k: {scalar}\n") == {"k": expected})
    except ValueError:
        return False


def _scalar_ends_on_line(lines: list[str], line_no: int, key_col: int) -> bool:
    """True when the next content line is not more indented than the key (no continuation)."""
    for line in lines[line_no + 1 :]:
        stripped = line.strip()
        if not stripped:
            continue
        return len(line) - len(line.lstrip(" ")) <= key_col
    return True


def _scalar_end(rest: str) -> int | None:
    """Length of the scalar at the start of ``rest`` (one line), excluding a trailing comment."""
    if not rest:
        return 0
    if rest[0] in "|>":
        return None  # block scalar: spans several lines
    if rest[0] == '"':
        i = 1
        while i < len(rest):
            if rest[i] == "\\":
                i += 2
                continue
            if rest[i] == '"':
                return i + 1
            i += 1
        return None
    if rest[0] == "'":
        i = 1
        while i < len(rest):
            if rest[i] == "'":
                if i + 1 < len(rest) and rest[i + 1] == "'":
                    i += 2
                    continue
                return i + 1
            i += 1
        return None
    comment = re.search(r"\s#", rest)
    end = comment.start() if comment else len(rest)
    return len(rest[:end].rstrip())


def roundtrip_edit(text: str, mutate: Callable[[Any], None]) -> str:
    """Load ``text`` keeping comments, let ``mutate`` change the document, dump it again."""
    doc = load_roundtrip(text)
    mutate(doc)
    return dump_yaml(doc)
