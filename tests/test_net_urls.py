"""Origins (the limiter and redirect key) and the URL forms that may appear in logs and messages."""

from __future__ import annotations

import httpx
import pytest

from credlib.net.urls import log_url, origin_of, redacted_url


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://API.Example.com/v1/models", "https://api.example.com"),
        ("https://api.example.com:443/v1", "https://api.example.com"),
        ("http://api.example.com:80/", "http://api.example.com"),
        ("https://api.example.com:8443/v1", "https://api.example.com:8443"),
        ("http://127.0.0.1:4000/v1", "http://127.0.0.1:4000"),
        ("http://localhost:4000/v1", "http://localhost:4000"),  # not the same origin as 127.0.0.1
        ("http://[::1]:4000/v1", "http://[::1]:4000"),
        ("https://user:pw@api.example.com/v1", "https://api.example.com"),
    ],
)
def test_origin_of(url: str, origin: str) -> None:
    assert origin_of(httpx.URL(url)) == origin


def test_log_url_has_no_query_or_userinfo() -> None:
    url = httpx.URL("https://user:pw@api.example.com/v1beta/models?key=AIzaSECRET&pageSize=10")
    assert log_url(url) == "https://api.example.com/v1beta/models"


def test_redacted_url_keeps_names_not_values() -> None:
    url = httpx.URL("https://api.example.com/v1beta/models?key=AIzaSECRET&pageSize=10")
    assert redacted_url(url) == "https://api.example.com/v1beta/models?key=REDACTED&pageSize=REDACTED"
    assert redacted_url(httpx.URL("https://api.example.com")) == "https://api.example.com/"
