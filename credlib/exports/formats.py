"""Parse and write the four config formats credlib merges into, keeping what it does not own.

JSON (plain dicts, key order kept), YAML (ruamel round-trip: comments and order kept), TOML (tomlkit:
comments and layout kept) and dotenv (line-based: comments, blank lines and unknown lines kept).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, MutableMapping
from typing import Any

FORMATS = ("json", "yaml", "toml", "dotenv")


class FormatError(ValueError):
    """The text does not parse; the message names the line where the parser knows it."""


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*$")


def _dotenv_value(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        inner = raw[1:-1]
        out, i = [], 0
        while i < len(inner):
            ch = inner[i]
            if ch == "\\" and i + 1 < len(inner):
                nxt = inner[i + 1]
                out.append("\n" if nxt == "n" else nxt)
                i += 2
                continue
            out.append(ch)
            i += 1
        return "".join(out)
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    return re.split(r"\s+#", raw, maxsplit=1)[0]


class DotenvDoc(MutableMapping[str, str]):
    """A .env file as an ordered mapping that remembers every line it did not change."""

    def __init__(self, text: str = "") -> None:
        # Each line is [key or None, raw text, value or None]; unchanged lines are written back verbatim.
        self.lines: list[list[Any]] = []
        self._index: dict[str, list[Any]] | None = None  # key -> its (first) line, built on demand
        self._dups: set[str] = set()
        # Only "\n" ends a line: a value may hold other characters str.splitlines() would split on.
        body = text[:-1] if text.endswith("\n") else text
        for number, line in enumerate(body.split("\n") if body else [], start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                self.lines.append([None, line, None])
                continue
            match = _DOTENV_LINE.match(line)
            if not match:
                raise FormatError(f"line {number}: not KEY=VALUE")
            self.lines.append([match.group(1), line, _dotenv_value(match.group(2))])

    def _find(self, key: str) -> list[Any] | None:
        if self._index is None:
            self._index = {}
            for entry in self.lines:
                if entry[0] is not None:
                    if entry[0] in self._index:
                        self._dups.add(str(entry[0]))
                    self._index.setdefault(str(entry[0]), entry)
        return self._index.get(key)

    def __getitem__(self, key: str) -> str:
        entry = self._find(key)
        if entry is None:
            raise KeyError(key)
        return str(entry[2])

    def __setitem__(self, key: str, value: str) -> None:
        from credlib.exports.jinja import FILTERS

        line = f"{key}={FILTERS['dotenv'](value)}"
        entry = self._find(key)
        if entry is None:
            entry = [key, line, value]
            self.lines.append(entry)
            if self._index is not None:
                self._index[key] = entry
        elif entry[2] != value:
            entry[1], entry[2] = line, value

    def __delitem__(self, key: str) -> None:
        entry = self._find(key)
        if entry is None:
            raise KeyError(key)
        # Marked, not removed from the list: removing a thousand entries stays linear.
        entry[0] = entry[1] = entry[2] = None
        if self._index is not None:
            self._index.pop(key, None)
            if key in self._dups:  # another line sets the same key: let it be found next
                self._index = None

    def __iter__(self) -> Iterator[str]:
        return iter([str(e[0]) for e in self.lines if e[0] is not None])

    def __len__(self) -> int:
        return sum(1 for e in self.lines if e[0] is not None)

    def dump(self) -> str:
        return "".join(str(e[1]) + "\n" for e in self.lines if e[1] is not None)


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.default_flow_style = False
    yaml.width = 4096
    # The layout CLIProxyAPI's and LiteLLM's example configs use: list items indented under their key.
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def parse(fmt: str, text: str) -> Any:
    """Parse ``text``; an empty text is an empty document."""
    if fmt == "json":
        if not text.strip():
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(f"line {exc.lineno}: {exc.msg}") from None
        if not isinstance(data, dict):
            raise FormatError("line 1: the top level is not an object")
        return data
    if fmt == "yaml":
        if text.lstrip()[:1] in ("{", "["):
            # JSON is YAML; the shipped templates render it because json parses 50x faster than ruamel.
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                pass
            else:
                if not isinstance(data, dict):
                    raise FormatError("line 1: the top level is not a mapping")
                return data
        from ruamel.yaml.error import YAMLError

        try:
            data = _yaml().load(text)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise FormatError(f"{where}{problem}") from None
        if data is None:
            from ruamel.yaml.comments import CommentedMap

            return CommentedMap()
        if not isinstance(data, dict):
            raise FormatError("line 1: the top level is not a mapping")
        return data
    if fmt == "toml":
        import tomlkit
        from tomlkit.exceptions import ParseError

        try:
            return tomlkit.parse(text)
        except ParseError as exc:
            raise FormatError(f"line {exc.line}: {exc.args[0] if exc.args else 'invalid TOML'}") from None
    if fmt == "dotenv":
        return DotenvDoc(text)
    raise FormatError(f"unknown format {fmt}")


def dump(fmt: str, doc: Any) -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        if is_plain(doc):
            return plain_yaml(doc)
        buf = io.StringIO()
        _yaml().dump(doc, buf)
        return buf.getvalue()
    if fmt == "toml":
        import tomlkit

        return str(tomlkit.dumps(doc))
    if fmt == "dotenv":
        assert isinstance(doc, DotenvDoc)
        return doc.dump()
    raise FormatError(f"unknown format {fmt}")


def is_plain(value: Any) -> bool:
    """Built-in dicts/lists/scalars only (not a round-trip document that carries comments)."""
    if type(value) is dict:
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    if type(value) is list:
        return all(is_plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


_YAML_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_ ./@$+:-]*$")
_YAML_SPECIAL = re.compile(
    r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N"
    r"|[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|0x[0-9a-fA-F_]+|0o?[0-7_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|\d{4}-\d\d?-\d\d?.*)$"
)


# YAML non-printables, plus the characters YAML (and str.splitlines) treat as line breaks.
_NON_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if (
        _YAML_PLAIN.fullmatch(text)
        and not _YAML_SPECIAL.fullmatch(text)
        and ": " not in text
        and not text.endswith((" ", ":"))
    ):
        return text
    # A JSON string is a valid YAML double-quoted scalar once YAML's non-printables are escaped too.
    return _NON_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def _yaml_lines(value: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{pad}{_yaml_scalar(key)}:"
            if isinstance(item, dict | list) and item:
                out.append(head)
                _yaml_lines(item, indent + 2, out)
            else:
                out.append(f"{head} {_yaml_inline(item)}")
        return
    for item in value:
        if isinstance(item, dict | list) and item:
            sub: list[str] = []
            _yaml_lines(item, indent + 2, sub)
            out.append(f"{pad}- {sub[0][indent + 2 :]}")
            out.extend(sub[1:])
        else:
            out.append(f"{pad}- {_yaml_inline(item)}")


def _yaml_inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar(value)


def plain_yaml(doc: Any) -> str:
    """Block-style YAML for plain data, in the layout ``_yaml()`` uses (list items indented under
    their key). ruamel's emitter is pure Python and takes ~50x longer on a thousand entries."""
    if isinstance(doc, dict) and not doc:
        return "{}\n"
    out: list[str] = []
    _yaml_lines(doc, 0, out)
    return "\n".join(out) + "\n"


_NUMBER = re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$")
_JSON = json.JSONDecoder()


class _NotPlain(ValueError):
    pass


def _read_scalar(text: str) -> Any:
    if text.startswith('"'):
        value, end = _JSON.raw_decode(text)
        if end != len(text):
            raise _NotPlain(text)
        return value
    if text in ("null", "true", "false", "{}", "[]"):
        return {"null": None, "true": True, "false": False}.get(text, {} if text == "{}" else [])
    if _NUMBER.fullmatch(text):
        return json.loads(text)
    return text


def _split_key(line: str) -> tuple[str, str | None]:
    """``key: value`` / ``key:`` into (key, inline value or None)."""
    if line.startswith('"'):
        key, end = _JSON.raw_decode(line)
        rest = line[end:]
    else:
        cut = line.find(": ")
        if cut < 0:
            if not line.endswith(":"):
                raise _NotPlain(line)
            return line[:-1], None
        key, rest = line[:cut], line[cut:]
    if rest == ":":
        return str(key), None
    if not rest.startswith(": "):
        raise _NotPlain(line)
    return str(key), rest[2:]


def _parse_block(lines: list[tuple[int, str]], pos: int, indent: int) -> tuple[Any, int]:
    if lines[pos][1].startswith("- "):
        items: list[Any] = []
        while pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("- "):
            rest = lines[pos][1][2:]
            # An item's first line carries its content at indent + 2: re-read it there.
            lines[pos] = (indent + 2, rest)
            if (
                rest.startswith("- ")
                or (not rest.startswith('"') and (": " in rest or rest.endswith(":")))
                or (rest.startswith('"') and _quoted_key(rest))
            ):
                value, pos = _parse_block(lines, pos, indent + 2)
            else:
                value, pos = _read_scalar(rest), pos + 1
            items.append(value)
        return items, pos
    mapping: dict[str, Any] = {}
    while pos < len(lines) and lines[pos][0] == indent and not lines[pos][1].startswith("- "):
        key, inline = _split_key(lines[pos][1])
        pos += 1
        if inline is None:
            if pos >= len(lines) or lines[pos][0] <= indent:
                raise _NotPlain(key)
            mapping[key], pos = _parse_block(lines, pos, lines[pos][0])
        else:
            mapping[key] = _read_scalar(inline)
    return mapping, pos


def _quoted_key(text: str) -> bool:
    try:
        _, end = _JSON.raw_decode(text)
    except ValueError:
        return False
    return text[end:] == ":" or text[end:].startswith(": ")


def parse_plain_yaml(text: str) -> dict[str, Any]:
    """Read back exactly what ``plain_yaml`` writes (nothing else: raises ``FormatError``).

    Used only for a file whose hash shows it is byte-for-byte what credlib last wrote with
    ``plain_yaml``; ruamel's pure-Python round-trip parser takes seconds on a big file."""
    if text == "{}\n":
        return {}
    if not text.endswith("\n"):
        raise FormatError("not credlib's plain YAML")
    lines = [(len(ln) - len(ln.lstrip(" ")), ln.lstrip(" ")) for ln in text[:-1].split("\n")]
    try:
        doc, pos = _parse_block(lines, 0, 0)
    except (_NotPlain, ValueError, IndexError) as exc:
        raise FormatError(f"not credlib's plain YAML: {exc}") from None
    if pos != len(lines) or not isinstance(doc, dict):
        raise FormatError("not credlib's plain YAML")
    return doc


def to_plain(value: Any) -> Any:
    """Plain dict/list/scalars, for comparing and copying between documents of different libraries."""
    kind = type(value)
    # Most values are already plain (JSON documents, rendered fragments): skip the probing below.
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if kind is dict:
        return {str(k): to_plain(v) for k, v in value.items()}
    if hasattr(value, "unwrap"):  # tomlkit items
        value = value.unwrap()
    if isinstance(value, MutableMapping | dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def new_container(fmt: str) -> Any:
    if fmt == "yaml":
        from ruamel.yaml.comments import CommentedMap

        return CommentedMap()
    if fmt == "toml":
        import tomlkit

        return tomlkit.table(is_super_table=True)
    return {}
