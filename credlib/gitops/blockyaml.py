"""A line-oriented reader for the block YAML that sops writes, so `check` stays fast with line numbers.

`check` runs as a pre-commit hook on files sops emitted: block mappings and sequences, plain and
quoted one-line scalars, literal blocks for the age stanzas. ruamel's pure-Python loader spends about a
second on a 1,000-credential file; this reader needs a few tens of milliseconds. It is deliberately
narrow: anything outside that subset (flow collections with content, anchors, tags, multi-line plain or
quoted scalars, timestamps, documents markers, tabs, duplicate keys...) raises ``Unsupported`` and the
caller falls back to the full ruamel loader, so the result is always what ruamel would have given.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any


class Unsupported(Exception):
    """The text leaves the subset this reader handles; use a full YAML loader instead."""


@dataclass
class Parsed:
    """Plain containers with the scalars as ruamel's round-trip loader types them (ENC values as str)."""

    root: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)  # field path -> 1-based line


_PLAIN_KEY = re.compile(r"([^\s:#'\"\[\]{},&*!|>%@`?-][^:#]*?|-[^\s:#][^:#]*?)\s*:(?:[ ]+|$)")
_QUOTED_KEY = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"\\]|\\.)*\")\s*:(?:[ ]+|$)")
_SINGLE = re.compile(r"'((?:[^']|'')*)'(?:[ ]+#.*)?[ ]*$")
_DOUBLE = re.compile(r"\"((?:[^\"\\]|\\.)*)\"(?:[ ]+#.*)?[ ]*$")
_TRAILING_COMMENT = re.compile(r"[ ]+#.*$")
# ruamel also breaks lines at NEL/LS/PS and refuses non-printable characters: leave those texts to it.
_NOT_PLAIN_TEXT = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+$")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "/": "/", "r": "\r", "0": "\0", " ": " "}
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")


def _unescape(body: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        if code[0] in "xuU" and len(code) > 1:
            return chr(int(code[1:], 16))
        raise Unsupported("escape")

    return _ESCAPE.sub(one, body)


class _Reader:
    def __init__(self, text: str) -> None:
        if "\t" in text or "\r" in text:
            raise Unsupported("tabs or carriage returns")
        if text.startswith("\ufeff") or _NOT_PLAIN_TEXT.search(text):
            raise Unsupported("byte-order mark, other line breaks or non-printable characters")
        self.raw = text.split("\n")
        self.pos = 0
        self.lines: dict[str, int] = {}
        self._implicit = _implicit_table()
        # Per line, computed once: (indent, content) of a meaningful line, None for blank or comment-only
        # lines (a literal block reads its lines from ``raw`` instead), _MARKER for `---`/`...`/`%`.
        self._info: list[tuple[int, str] | None] = [_line_info(line) for line in self.raw]

    # -- lines -------------------------------------------------------------------------------
    def _skip_blank(self) -> None:
        info, end = self._info, len(self._info)
        while self.pos < end and info[self.pos] is None:
            self.pos += 1

    def _peek(self) -> tuple[int, str] | None:
        """(indent, content) of the next meaningful line, or None at the end."""
        self._skip_blank()
        if self.pos >= len(self._info):
            return None
        found = self._info[self.pos]
        if found is _MARKER:
            raise Unsupported("document markers or directives")
        return found

    # -- structure ---------------------------------------------------------------------------
    def document(self) -> dict[str, Any]:
        first = self._peek()
        if first is None or first[0] != 0 or _is_entry(first[1]):
            raise Unsupported("not a block mapping at the top")
        root = self._mapping(0, "", first[1])
        if self._peek() is not None:
            raise Unsupported("text after the top-level mapping")
        return root

    def _block(self, parent_indent: int, path: str, *, allow_same_indent_seq: bool) -> Any:
        """The value of a key or entry written on the following lines (or null when there is none)."""
        nxt = self._peek()
        if nxt is None:
            return None
        indent, content = nxt
        if indent > parent_indent:
            if _is_entry(content):
                return self._sequence(indent, path, content)
            return self._mapping(indent, path, content)
        if indent == parent_indent and allow_same_indent_seq and _is_entry(content):
            return self._sequence(indent, path, content)
        return None

    def _mapping(self, indent: int, path: str, content: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        number = self.pos + 1
        while True:
            key, rest = _split_key(content)
            if not content.startswith(("'", '"')):
                _check_key_is_str(key, self)
            if key in out or key == "<<":
                raise Unsupported("duplicate or merge key")
            child = f"{path}.{key}" if path else key
            self.lines[child] = number
            self.pos += 1
            out[key] = self._value(indent, child, rest, allow_same_indent_seq=True)
            nxt = self._peek()
            if nxt is None or nxt[0] < indent:
                return out
            if nxt[0] > indent or _is_entry(nxt[1]):
                raise Unsupported("unexpected indentation")
            content = nxt[1]
            number = self.pos + 1

    def _sequence(self, indent: int, path: str, content: str) -> list[Any]:
        items: list[Any] = []
        while True:
            child = f"{path}[{len(items)}]"
            self.lines[child] = self.pos + 1
            rest = content[1:].lstrip(" ")
            if rest and not rest.startswith("#") and _is_mapping_start(rest):
                # "- key: value": a mapping whose keys sit at the column after "- ".
                inner_indent = indent + (len(content) - len(rest))
                self._info[self.pos] = (inner_indent, rest)
                items.append(self._mapping(inner_indent, child, rest))
            else:
                self.pos += 1
                if rest == "" or rest.startswith("#"):
                    below = self._peek()
                    if below is not None and below[0] > indent:
                        self.lines[child] = self.pos + 1  # ruamel places such an entry where its block starts
                items.append(self._value(indent, child, rest, allow_same_indent_seq=False))
            nxt = self._peek()
            if nxt is None or nxt[0] < indent or (nxt[0] == indent and not _is_entry(nxt[1])):
                return items
            if nxt[0] > indent:
                raise Unsupported("unexpected indentation")
            content = nxt[1]

    def _value(self, indent: int, path: str, rest: str, *, allow_same_indent_seq: bool) -> Any:
        if rest == "" or rest.startswith("#"):
            return self._block(indent, path, allow_same_indent_seq=allow_same_indent_seq)
        if rest.startswith("|"):
            return self._literal(indent, rest)
        value = self._inline(rest)
        nxt = self._peek()
        if nxt is not None and nxt[0] > indent:
            raise Unsupported("multi-line scalar")
        return value

    def _literal(self, indent: int, header: str) -> str:
        chomp = _TRAILING_COMMENT.sub("", header)
        if chomp not in ("|", "|-"):
            raise Unsupported("block scalar style")
        body: list[str] = []
        content_indent: int | None = None
        while self.pos < len(self.raw):
            line = self.raw[self.pos]
            stripped = line.lstrip(" ")
            if stripped:
                this = len(line) - len(stripped)
                if this <= indent:
                    break
                if content_indent is None:
                    content_indent = this
                elif this < content_indent:
                    raise Unsupported("literal block indentation")
                body.append(line[content_indent:])
            else:
                if line:
                    raise Unsupported("spaces on an empty literal line")
                body.append("")
            self.pos += 1
        while body and body[-1] == "":
            body.pop()
            self.pos -= 1
        self._skip_blank()
        if not body:
            return ""
        text = "\n".join(body)
        return text if chomp == "|-" else text + "\n"

    def _inline(self, rest: str) -> Any:
        head = rest[0]
        if head == "'":
            m = _SINGLE.match(rest)
            if not m:
                raise Unsupported("single-quoted scalar")
            return m.group(1).replace("''", "'")
        if head == '"':
            m = _DOUBLE.match(rest)
            if not m:
                raise Unsupported("double-quoted scalar")
            return _unescape(m.group(1))
        if rest in ("[]", "{}"):
            return [] if rest == "[]" else {}
        if head in "[]{}&*!%@`>|?," or _is_entry(rest):
            raise Unsupported("flow, anchor, tag or reserved indicator")
        plain = _TRAILING_COMMENT.sub("", rest)
        if ": " in plain or plain.endswith(":") or " #" in plain:
            raise Unsupported("plain scalar with an indicator")
        return self._resolve(plain)

    def kind_of(self, plain: str) -> str:
        """The implicit tag ruamel gives a plain scalar (YAML 1.2), e.g. ``str``, ``int``, ``timestamp``."""
        for tag, regexp in (*self._implicit.get(plain[:1], ()), *self._implicit.get(None, ())):
            if regexp.match(plain):
                return str(tag).rsplit(":", 1)[-1]
        return "str"

    def _resolve(self, plain: str) -> Any:
        kind = self.kind_of(plain)
        if kind in ("str", "value"):  # "value": a lone `=`, which go-yaml (sops) reads as the string
            return plain
        if kind == "null":
            return None
        if kind == "bool":
            return plain.lower() == "true"
        if kind == "int" and _INT.match(plain):
            return int(plain)
        if kind == "float" and _FLOAT.match(plain):
            return float(plain)
        raise Unsupported(f"{kind} scalar")


_MARKER = (0, "---")


def _line_info(line: str) -> tuple[int, str] | None:
    content = line.lstrip(" ")
    if not content or content[0] == "#":
        return None
    if len(line) == len(content) and content.startswith(("---", "...", "%")):
        return _MARKER
    return len(line) - len(content), content.rstrip(" ")


def _is_entry(content: str) -> bool:
    return content == "-" or content.startswith("- ")


def _is_mapping_start(rest: str) -> bool:
    return bool(_PLAIN_KEY.match(rest) or _QUOTED_KEY.match(rest))


def _split_key(content: str) -> tuple[str, str]:
    m = _QUOTED_KEY.match(content)
    if m:
        quoted = m.group(1)
        key = quoted[1:-1].replace("''", "'") if quoted[0] == "'" else _unescape(quoted[1:-1])
        return key, content[m.end() :]
    m = _PLAIN_KEY.match(content)
    if not m:
        raise Unsupported("not a simple key")
    key = m.group(1)
    if key != key.strip() or key in ("-", "?"):
        raise Unsupported("key")
    return key, content[m.end() :]


def _check_key_is_str(key: str, reader: _Reader) -> None:
    # ruamel types plain keys like values (``1:``, ``true:``); only string keys keep their spelling.
    if reader.kind_of(key) != "str":
        raise Unsupported("non-string key")


@functools.lru_cache(maxsize=1)
def _implicit_table() -> dict[Any, tuple[tuple[Any, re.Pattern[str]], ...]]:
    """ruamel's YAML 1.2 implicit resolvers (first character -> (tag, regexp)), read once.

    Taken from ruamel itself so plain scalars get exactly the types its loader gives them; copied
    because ``VersionedResolver.resolve`` re-derives the table on every call.
    """
    from ruamel.yaml.resolver import VersionedResolver

    table = VersionedResolver().versioned_resolver
    return {first: tuple(entries) for first, entries in table.items()}


def parse(text: str) -> Parsed:
    """Parse sops-style block YAML; raise ``Unsupported`` for anything else."""
    reader = _Reader(text)
    root = reader.document()
    return Parsed(root, reader.lines)
