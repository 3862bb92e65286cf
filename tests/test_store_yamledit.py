"""Plain-field edits of the file text: the one-line splice and the sops-style scalar emitter."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from credlib.yamledit import _NUMBER_LIKE, _PRINTABLE, line_locator, load_plain, scalar_text, splice_scalar

TEXT = (
    "# yaml-language-server: $schema=./credlib.schema.json\n"
    "version: 1\n"
    "credentials:\n"
    "    - name: A\n"
    "      base_url: https://a.example.com\n"
    "      api_key: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]\n"
    '      notes: "quoted # not a comment"\n'
    "    - name: B  # trailing comment\n"
    "      base_url: https://b.example.com\n"
    "      api_key: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]\n"
    "      notes: |-\n"
    "        line one\n"
    "        line two\n"
    "sops:\n"
    "    mac_only_encrypted: true\n"
)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60))
def test_scalar_text_round_trips(value: str) -> None:
    emitted = scalar_text(value)
    if emitted is None:
        # Left to sops: line breaks, characters go-yaml escapes, and number- or date-like text.
        assert not _PRINTABLE.match(value) or _NUMBER_LIKE.match(value), value
        return
    assert load_plain(f"k: {emitted}\n") == {"k": value}


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40))
def test_splice_changes_exactly_one_line(value: str) -> None:
    out = splice_scalar(TEXT, ["credentials", 0, "notes"], value)
    if scalar_text(value) is None:
        assert out is None  # the caller then writes through sops
        return
    assert out is not None
    before, after = TEXT.splitlines(), out.splitlines()
    assert len(before) == len(after)
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] in ([6], [])
    assert load_plain(out)["credentials"][0]["notes"] == value


def test_splice_keeps_trailing_comment() -> None:
    out = splice_scalar(TEXT, ["credentials", 1, "name"], "Bee")
    assert out is not None and "    - name: Bee  # trailing comment\n" in out


def test_splice_refuses_block_scalars_and_missing_keys() -> None:
    assert splice_scalar(TEXT, ["credentials", 1, "notes"], "x") is None  # block scalar
    assert splice_scalar(TEXT, ["credentials", 1, "tags"], "x") is None  # absent key
    assert splice_scalar(TEXT, ["credentials", 0, "notes"], "two\nlines") is None
    assert splice_scalar(TEXT, ["credentials", 5, "notes"], "x") is None


def test_line_locator() -> None:
    line_of = line_locator(TEXT)
    assert line_of("credentials[0].base_url") == 5
    assert line_of("credentials[1].name") == 8
    assert line_of("credentials[1].missing") == 8
    assert line_of("version") == 2
    assert line_locator("a: [\n")("anything") is None


def test_load_plain_errors_never_quote_content() -> None:
    import pytest

    secret = "sk-secret-in-a-broken-line-1234567"
    with pytest.raises(ValueError) as info:
        load_plain(f"api_key: {secret}\n  bad: [\n")
    assert secret not in str(info.value) and "line" in str(info.value)
    with pytest.raises(ValueError, match="line 2"):
        load_plain("a: 1\na: 2\n")  # duplicate keys are rejected, like sops does


def test_comment_detection_is_quote_aware() -> None:
    from credlib.store import _has_comments_in_body, _line_has_comment

    cases = {
        '    notes: "fake key #5"': False,
        "    notes: 'it''s # x'": False,
        "    api_key: ENC[AES256_GCM,data:ab#c]": False,
        "    notes: a#b": False,
        '    notes: "a\\" # b"': False,
        "    - name: A  # c": True,
        "    # a line comment": True,
        "    notes: 'x' # y": True,
    }
    for line, expected in cases.items():
        assert _line_has_comment(line) is expected, line
    assert not _has_comments_in_body("# modeline\nversion: 1\ncredentials: []\n")
    assert _has_comments_in_body("version: 1\ncredentials:\n    # hi\n    - name: a\n")


def test_lone_equals_sign_reads_as_sops_reads_it() -> None:
    # ruamel (YAML 1.1) resolves a bare `=` to its "value" tag; go-yaml, and so sops, read "=".
    assert load_plain("k: =\n") == {"k": "="}
    emitted = scalar_text("=")
    assert emitted == "="
    assert load_plain(f"k: {emitted}\n") == {"k": "="}
