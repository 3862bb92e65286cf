"""Dot paths and JSONPath for custom telemetry mappings."""

from __future__ import annotations

import pytest

from credlib.telemetry.mapping import MISSING, parse_path

DOC = {
    "data": {
        "balance": 12.5,
        "items": [{"x": 1}, {"x": 2, "name": "today"}],
        "0": "key-zero",
        "nothing": None,
    }
}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("data.balance", 12.5),
        (" data . balance ", 12.5),
        ("data.items.1.x", 2),
        ("data.0", "key-zero"),
        ("data.nothing", None),
        ("$.data.balance", 12.5),
        ("$.data.items[0].x", 1),
        ("$.data.items[?(@.name == 'today')].x", 2),
        ("$..balance", 12.5),
    ],
)
def test_paths_find_values(expr: str, expected: object) -> None:
    assert parse_path(expr).find(DOC) == expected


@pytest.mark.parametrize(
    "expr",
    [
        "data.missing",
        "data.items.5.x",
        "data.items.x",
        "data.balance.deeper",
        "$.data.nope",
        "$.data.items[9]",
    ],
)
def test_paths_that_match_nothing_return_missing(expr: str) -> None:
    assert parse_path(expr).find(DOC) is MISSING


def test_jsonpath_can_match_several_values() -> None:
    assert parse_path("$.data.items[*].x").find_all(DOC) == [1, 2]
    assert parse_path("data.items.0.x").find_all(DOC) == [1]


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("data..balance", "empty segment"),
        (".data", "empty segment"),
        ("data.", "empty segment"),
        ("data.items[0].x", "JSONPath starting with '$'"),
        ("$.data[", "does not parse"),
        ("$.a b", "does not parse"),
        ("$.a[?(@.x >", "does not parse"),
    ],
)
def test_bad_paths_raise_value_error(expr: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace("$", r"\$").replace("'", "'")):
        parse_path(expr)


def test_non_string_path_is_rejected() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        parse_path(12)  # type: ignore[arg-type]


def test_missing_is_falsy_singleton() -> None:
    assert not MISSING
    assert repr(MISSING) == "MISSING"
