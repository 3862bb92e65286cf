"""Property tests of credlib's plain YAML writer (used for files credlib creates, ~50x faster than
ruamel's emitter) and its reader for files credlib wrote; plus the dotenv document."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from credlib.exports.formats import DotenvDoc, FormatError, parse_plain_yaml, plain_yaml

keys = st.text(min_size=1, max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    # Strings that YAML 1.1/1.2 would resolve to other types when left unquoted.
    | st.sampled_from(
        [
            "yes",
            "No",
            "on",
            "~",
            "null",
            "1_000",
            "0o17",
            ".5",
            "1e3",
            "190:20:30",
            "2001-12-14t21:59:43.10-05:00",
            "0x1F",
            ".inf",
            "a: b",
            "a #b",
            "- x",
            "@x",
            "'q'",
        ]
    )
)
documents = st.dictionaries(
    keys,
    st.recursive(
        scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(keys, c, max_size=4), max_leaves=20
    ),
    max_size=5,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
@example({"model_list": [{"model_name": "m", "litellm_params": {"api_key": "sk-x", "x": [[1, 2], {}]}}]})
def test_plain_yaml_round_trips_through_ruamel_and_credlibs_reader(doc: dict[str, Any]) -> None:
    text = plain_yaml(doc)
    assert YAML(typ="safe").load(text) == (doc or {})
    assert parse_plain_yaml(text) == doc


def test_plain_yaml_reader_refuses_anything_else() -> None:
    with pytest.raises(FormatError):
        parse_plain_yaml("a: [1, 2]\n  b: c\n")
    with pytest.raises(FormatError):
        parse_plain_yaml("- a\n")


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True),
        st.text(
            alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\x00"), max_size=20
        ),
        max_size=6,
    )
)
def test_dotenv_values_round_trip(values: dict[str, str]) -> None:
    doc = DotenvDoc("# kept\nOTHER=1\n")
    for key, value in values.items():
        doc[key] = value
    again = DotenvDoc(doc.dump())
    assert again.dump().startswith("# kept\n")
    for key, value in values.items():
        assert again[key] == value
