"""Base URL normalization (SPEC §2): All API Hub's examples plus the cases where credlib differs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credlib.model import ApiType
from credlib.urls import (
    _is_stored_form,
    _normalize_parsed,
    display_url,
    join_url,
    normalize_base_url,
    origin_of,
    same_origin,
)

OPENAI: ApiType = "openai-compatible"
GOOGLE: ApiType = "google"

# (input, api type, expected) — research/all-api-hub.md §2 table.
CASES: list[tuple[str, ApiType, str]] = [
    ("https://api.example.com/", OPENAI, "https://api.example.com"),
    ("https://api.example.com/", GOOGLE, "https://api.example.com"),
    ("  https://api.example.com/v1/  ", OPENAI, "https://api.example.com"),
    ("  https://api.example.com/v1/  ", GOOGLE, "https://api.example.com/v1"),
    ("api.example.com/v1", OPENAI, "https://api.example.com"),
    ("api.example.com/v1", GOOGLE, "https://api.example.com/v1"),
    ("http://API.Example.com:8080/v1/chat/completions", OPENAI, "http://api.example.com:8080"),
    (
        "http://API.Example.com:8080/v1/chat/completions",
        GOOGLE,
        "http://api.example.com:8080/v1/chat/completions",
    ),
    ("example.com/api/v1/models?x=1#y", OPENAI, "https://example.com/api"),
    ("https://example.com/api/v1/chat/completions", OPENAI, "https://example.com/api"),
    ("https://example.com/v1/v1/models", OPENAI, "https://example.com/v1"),
    (
        "https://example.com/proxy/v1/openai/v1/chat/completions",
        OPENAI,
        "https://example.com/proxy/v1/openai",
    ),
    ("https://gw.example.com/api/V1", OPENAI, "https://gw.example.com/api"),
    ("https://gw.example.com/api/V1", GOOGLE, "https://gw.example.com/api/V1"),
    ("https://api.example.com/v10", OPENAI, "https://api.example.com/v10"),
    ("https://api.example.com/v10", GOOGLE, "https://api.example.com/v10"),
    ("https://x.com/api/coding/v3", OPENAI, "https://x.com/api/coding/v3"),
    ("https://x.com/api/coding/v3", GOOGLE, "https://x.com/api/coding/v3"),
    (
        "https://example.com/api/v1beta/models/gemini-2.0-flash:predict",
        OPENAI,
        "https://example.com/api/v1beta/models/gemini-2.0-flash:predict",
    ),
    ("https://example.com/api/v1beta/models/gemini-2.0-flash:predict", GOOGLE, "https://example.com/api"),
    (
        "https://example.com/proxy/v1beta/google/v1beta/models/gemini-2.0-flash",
        GOOGLE,
        "https://example.com/proxy/v1beta/google",
    ),
    (
        "https://generativelanguage.googleapis.com/v1beta/models",
        OPENAI,
        "https://generativelanguage.googleapis.com/v1beta/models",
    ),
    (
        "https://generativelanguage.googleapis.com/v1beta/models",
        GOOGLE,
        "https://generativelanguage.googleapis.com",
    ),
    ("https://api.anthropic.com/v1/messages", "anthropic", "https://api.anthropic.com"),
    ("(https://api.example.com/v1).", OPENAI, "https://api.example.com"),
    ("(https://api.example.com/v1).", GOOGLE, "https://api.example.com/v1"),
    ("https://user:pw@api.example.com/v1", OPENAI, "https://api.example.com"),
    ("https://api.openai.com/v1", "openai", "https://api.openai.com"),
    # Where credlib deliberately differs from All API Hub:
    ("localhost:3000", OPENAI, "https://localhost:3000"),  # host:port accepted
    ("example.com:8080/v1", OPENAI, "https://example.com:8080"),  # host:port accepted
    ("https://user:pw@api.example.com/v1", GOOGLE, "https://api.example.com/v1"),  # userinfo dropped
    ("http://127.0.0.1:8080/api/v3/", OPENAI, "http://127.0.0.1:8080/api/v3"),  # /v3 prefix kept
    # Details of the stored form:
    ("https://api.example.com:443/v1", OPENAI, "https://api.example.com"),  # default port dropped
    ("http://api.example.com:80", OPENAI, "http://api.example.com"),
    ("https://bücher.example/v1", OPENAI, "https://xn--bcher-kva.example"),  # punycode host
    ("http://[::1]:8080/v1", OPENAI, "http://[::1]:8080"),
    ("HTTPS://Relay.Example.COM/Proxy/", OPENAI, "https://relay.example.com/Proxy"),
]


@pytest.mark.parametrize(("raw", "api_type", "expected"), CASES)
def test_normalize_base_url(raw: str, api_type: ApiType, expected: str) -> None:
    assert normalize_base_url(raw, api_type) == expected


@pytest.mark.parametrize(("raw", "api_type", "expected"), CASES)
def test_normalization_is_idempotent_without_version_segment(
    raw: str, api_type: ApiType, expected: str
) -> None:
    # A stored path that still holds a version segment (/proxy/v1/openai) is cut again by design —
    # the "last /v1" rule — so idempotence holds exactly for results without one.
    version = "v1beta" if api_type == "google" else "v1"
    segments = [s.lower() for s in expected.split("://", 1)[1].split("/")[1:]]
    if version in segments:
        assert normalize_base_url(expected, api_type) != expected
    else:
        assert normalize_base_url(expected, api_type) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ftp://x", "scheme 'ftp'"),
        ("//x/v1", "must start with"),
        ("/v1", "must start with"),
        ("./v1", "must start with"),
        ("?x=1", "must start with"),
        ("mailto:someone@example.com", "scheme 'mailto'"),
        ("https://", "no host"),
        ("http://a b.example.com", "whitespace"),
        ("https://example.com:99999", "invalid port"),
    ],
)
def test_rejected(raw: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="base URL") as info:
        normalize_base_url(raw)
    assert fragment in str(info.value)


def test_error_message_hides_userinfo_and_query() -> None:
    with pytest.raises(ValueError) as info:
        normalize_base_url("ftp://user:hunter2@x.example/v1?key=sk-secret")
    assert "hunter2" not in str(info.value)
    assert "sk-secret" not in str(info.value)
    assert display_url("https://u:p@x/y?k=v#f") == "https://x/y"


def test_origin_helpers() -> None:
    assert origin_of("https://Api.Example.com:443/x/y") == "https://api.example.com"
    assert origin_of("http://api.example.com:8080/x") == "http://api.example.com:8080"
    assert same_origin("https://a.example.com/x", "https://a.example.com:443/y")
    assert not same_origin("https://a.example.com", "http://a.example.com")
    assert not same_origin("https://a.example.com", "https://b.example.com")
    assert not same_origin("https://a.example.com", "/relative")
    with pytest.raises(ValueError):
        origin_of("/api/usage")


def test_join_url_keeps_prefix() -> None:
    assert join_url("https://x.com/openai", "/api/usage/token/") == "https://x.com/openai/api/usage/token/"
    assert join_url("https://x.com/", "v1/models") == "https://x.com/v1/models"
    assert join_url("https://x.com", "") == "https://x.com"


_URLISH = st.text(alphabet="abcAB09-._~:/%@!$&'()*+,;=?#[] \tv1eta", max_size=40)
# URLs close to the stored form: the shortcut's edge cases (ports, case, version segments, junk).
_LABELS = st.text(alphabet="ab0-Z", min_size=0, max_size=4)
_NEAR_STORED = st.builds(
    lambda scheme, labels, port, segments: (
        f"{scheme}://{'.'.join(labels)}{port}" + "".join("/" + seg for seg in segments)
    ),
    st.sampled_from(["https", "http", "HTTP"]),
    st.lists(_LABELS, min_size=1, max_size=3),
    st.sampled_from(["", ":80", ":443", ":8080", ":080", ":65536", ":0"]),
    st.lists(st.sampled_from(["v1", "V1", "v1beta", "api", "a.", "x)", "%2F", "", "a:b", "~u"]), max_size=3),
)


@given(
    st.one_of(
        _NEAR_STORED,
        st.builds(str.__add__, st.sampled_from(["https://", "http://", "HTTPS://", ""]), _URLISH),
    ),
    st.sampled_from([OPENAI, GOOGLE, "anthropic"]),
)
@settings(max_examples=300, deadline=None)
def test_stored_form_shortcut_agrees_with_full_parse(url: str, api_type: ApiType) -> None:
    """The shortcut for URLs already in stored form (the read path) may only skip work, never change a
    result: whenever it fires, the full parse returns the URL unchanged too."""
    if _is_stored_form(url, api_type):
        assert _normalize_parsed(url, api_type) == url


@pytest.mark.parametrize(
    "url",
    ["https://a.example:443", "http://a.example:80", "https://a.example:08080", "https://A.example",
     "https://a.example/x.", "https://a.example/v1/x", "https://a..example", "https://example.com:99999"],
)
def test_stored_form_shortcut_declines_what_normalization_changes(url: str) -> None:
    assert not _is_stored_form(url, OPENAI)
