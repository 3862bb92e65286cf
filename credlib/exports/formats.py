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
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                self.lines.append([None, line, None])
                continue
            match = _DOTENV_LINE.match(line)
            if not match:
                raise FormatError(f"line {number}: not KEY=VALUE")
            self.lines.append([match.group(1), line, _dotenv_value(match.group(2))])

    def _find(self, key: str) -> list[Any] | None:
        for entry in self.lines:
            if entry[0] == key:
                return entry
        return None

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
            self.lines.append([key, line, value])
        elif entry[2] != value:
            entry[1], entry[2] = line, value

    def __delitem__(self, key: str) -> None:
        entry = self._find(key)
        if entry is None:
            raise KeyError(key)
        self.lines.remove(entry)

    def __iter__(self) -> Iterator[str]:
        return iter([str(e[0]) for e in self.lines if e[0] is not None])

    def __len__(self) -> int:
        return sum(1 for e in self.lines if e[0] is not None)

    def dump(self) -> str:
        return "".join(str(e[1]) + "\n" for e in self.lines)


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
        if not isinstance(data, dict | list):
            raise FormatError("line 1: the top level is not an object")
        return data
    if fmt == "yaml":
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


def to_plain(value: Any) -> Any:
    """Plain dict/list/scalars, for comparing and copying between documents of different libraries."""
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
