"""Strict conversion of upstream values, and the text scrubbing of attempts and errors."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credlib.telemetry.convert import ShapeError, count, flag, non_negative, number, timestamp
from credlib.telemetry.sanitize import redact_endpoint, scrub_text


@pytest.mark.parametrize(
    ("raw", "expected"), [(3, 3.0), (2.5, 2.5), ("12.50", 12.5), (" 7 ", 7.0), (None, None)]
)
def test_numbers_and_numeric_strings(raw: object, expected: float | None) -> None:
    assert number(raw, "x") == expected


@pytest.mark.parametrize("raw", ["abc", "", True, [1], {"a": 1}, math.nan, math.inf, "NaN", "-inf"])
def test_non_numbers_are_shape_errors_naming_the_field(raw: object) -> None:
    with pytest.raises(ShapeError, match=r"^data\.balance: "):
        number(raw, "data.balance")


def test_negative_and_fractional_counts() -> None:
    with pytest.raises(ShapeError, match="negative"):
        non_negative(-0.01, "x")
    with pytest.raises(ShapeError, match="whole number"):
        count(1.5, "x")
    assert count("42", "x") == 42


@pytest.mark.parametrize(
    ("raw", "expected"), [(True, True), ("false", False), (1, True), (0, False), (None, None)]
)
def test_flags(raw: object, expected: bool | None) -> None:
    assert flag(raw, "x") is expected


def test_flag_rejects_other_values() -> None:
    with pytest.raises(ShapeError):
        flag("yes please", "x")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1_893_456_000, "2030-01-01T00:00:00Z"),
        ("1893456000", "2030-01-01T00:00:00Z"),
        (1_893_456_000_000, "2030-01-01T00:00:00Z"),
        ("2030-01-01T08:00:00+08:00", "2030-01-01T00:00:00Z"),
        ("2030-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
        ("2030-01-01", "2030-01-01T00:00:00Z"),
        (0, None),
        (-1, None),
        ("", None),
        (None, None),
    ],
)
def test_timestamps(raw: object, expected: str | None) -> None:
    assert timestamp(raw, "expires_at") == expected


@pytest.mark.parametrize("raw", ["next tuesday", True, [2030], 1e300])
def test_bad_timestamps(raw: object) -> None:
    with pytest.raises(ShapeError, match=r"^expires_at"):
        timestamp(raw, "expires_at")


@given(st.integers(min_value=1_000_000_000, max_value=253_402_300_799))
def test_seconds_and_milliseconds_agree(seconds: int) -> None:
    # From 2001 on, x1000 crosses the 1e12 threshold, so both spellings of one moment must agree.
    expected = datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
    assert timestamp(seconds, "t") == timestamp(seconds * 1000, "t") == expected


def test_redact_endpoint_hides_every_query_value_and_userinfo() -> None:
    url = redact_endpoint(
        "https://user:pw@h.example/api/x?token=abc&user=alice#frag", {"start_date": "2026-01-01"}
    )
    assert url == "https://h.example/api/x?token=[REDACTED]&user=[REDACTED]&start_date=[REDACTED]"


def test_scrub_text_masks_tokens_and_caps_length() -> None:
    text = scrub_text(
        "bad Authorization: Bearer abc.def-123 and sk-ABCDEFGH12345678 key=hunter2 " + "x" * 400
    )
    assert "abc.def-123" not in text and "ABCDEFGH12345678" not in text and "hunter2" not in text
    assert len(text) <= 300


def test_scrub_text_uses_known_secrets_first() -> None:
    secret = "custom-secret-value-123"
    assert secret not in scrub_text(f"echo {secret}", lambda s: s.replace(secret, "cu…123"))


def test_result_round_trips_through_state_json() -> None:
    from credlib.telemetry.base import Attempt, Metrics, RateLimitWindow, TelemetryResult

    res = TelemetryResult(
        metrics=Metrics(balance=1.5, today_requests=3, unlimited=False, expires_at="2030-01-01T00:00:00Z"),
        health="warning",
        refreshed_at="2026-12-04T12:00:00Z",
        error="expires soon",
        attempts=[Attempt("newapi", "https://h/api/usage/token/", "success", 200, 12.5)],
        method_used="newapi",
        rate_limits=[RateLimitWindow("5h", 5.0, 1.0, 4.0)],
    )
    assert TelemetryResult.from_json(res.to_json()) == res
    # Newer/older state with extra or missing keys still loads.
    data = res.to_json() | {"future_field": 1}
    data["attempts"] = [{"method": "x", "endpoint": "e", "outcome": "error", "extra": True}]
    again = TelemetryResult.from_json(data)
    assert again.attempts[0].status is None and again.metrics.balance == 1.5
