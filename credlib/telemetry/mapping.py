"""Paths that pick one value out of a JSON document: custom telemetry mappings (SPEC §1, §5).

Two syntaxes are accepted:

- dot paths, parsed here by hand: ``data.balance``, ``data.items.0.cost`` (a numeric segment indexes
  an array; on an object it is an ordinary key). Segments are trimmed and must not be empty.
- full JSONPath when the expression starts with ``$``: ``$.data.items[0].cost``,
  ``$.data.items[?(@.name == 'today')].cost``. jsonpath-ng (its extended grammar, so filters work) is
  imported only when such a path is used, so loading a file with dot paths never pays for it.

``parse_path`` raises ``ValueError`` with a message fit for a validation report; the store calls it
while loading the credentials file so a bad path is rejected before any request is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final


class _Missing:
    """The value of a path that matched nothing (distinct from a JSON ``null``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()

# Characters that only make sense in JSONPath; in a dot path they are almost certainly a mistake.
_JSONPATH_ONLY = frozenset("[]*?@()")


@dataclass(frozen=True)
class CompiledPath:
    """A parsed path; ``find`` walks a decoded JSON document."""

    expr: str
    segments: tuple[str, ...] = ()  # dot paths
    _jsonpath: Any = field(default=None, repr=False, compare=False)  # jsonpath-ng expression

    @property
    def is_jsonpath(self) -> bool:
        return self._jsonpath is not None

    def find_all(self, doc: Any) -> list[Any]:
        """Every value the path matches (a dot path matches at most one)."""
        if self._jsonpath is not None:
            return [match.value for match in self._jsonpath.find(doc)]
        value = _walk(doc, self.segments)
        return [] if value is MISSING else [value]

    def find(self, doc: Any) -> Any:
        """The first value the path matches, or ``MISSING``."""
        found = self.find_all(doc)
        return found[0] if found else MISSING

    def __str__(self) -> str:
        return self.expr


def _walk(doc: Any, segments: tuple[str, ...]) -> Any:
    node = doc
    for seg in segments:
        if isinstance(node, dict):
            if seg not in node:
                return MISSING
            node = node[seg]
        elif isinstance(node, list):
            if not _is_index(seg):
                return MISSING
            index = int(seg)
            if index >= len(node):
                return MISSING
            node = node[index]
        else:
            return MISSING
    return node


def _is_index(seg: str) -> bool:
    return seg.isascii() and seg.isdigit()


def parse_path(expr: str) -> CompiledPath:
    """Compile a dot path or a JSONPath (``$…``); raise ``ValueError`` saying what is wrong."""
    if not isinstance(expr, str):
        raise ValueError(f"a path must be a string, not {type(expr).__name__}")
    text = expr.strip()
    if not text:
        raise ValueError("the path is empty")
    if text.startswith("$"):
        return CompiledPath(expr=text, _jsonpath=_parse_jsonpath(text))
    return CompiledPath(expr=text, segments=_parse_dot_path(text))


def _parse_dot_path(text: str) -> tuple[str, ...]:
    odd = sorted(set(text) & _JSONPATH_ONLY)
    if odd:
        raise ValueError(
            f"dot path {text!r} contains {''.join(odd)!r}; write a JSONPath starting with '$' "
            f"(e.g. $.data.items[0].cost) or use dots only (data.items.0.cost)"
        )
    segments = tuple(part.strip() for part in text.split("."))
    if any(not seg for seg in segments):
        raise ValueError(
            f"dot path {text!r} has an empty segment; use dot-separated fields like data.balance"
        )
    return segments


def _parse_jsonpath(text: str) -> Any:
    from jsonpath_ng.exceptions import JSONPathError
    from jsonpath_ng.ext.parser import parse

    try:
        return parse(text)
    except (JSONPathError, ValueError, TypeError, AttributeError) as exc:
        # ply's messages ("Parse error at 1:4 near token b (ID)") are short and useful; keep them.
        raise ValueError(f"JSONPath {text!r} does not parse: {exc}") from None
    except Exception as exc:  # the grammar library may raise anything on odd input
        raise ValueError(f"JSONPath {text!r} does not parse ({type(exc).__name__})") from None
