"""Turning upstream JSON values into metric values, strictly.

Upstreams send numbers, numeric strings, ``null``, booleans, Unix seconds, Unix milliseconds and
ISO 8601 strings. Everything here either returns a clean value, returns ``None`` when the field is
absent or ``null`` (the upstream did not say), or raises ``ShapeError`` naming the field — a string
where a number belongs, NaN or infinity, a negative count — so the credential gets ``health: error``
with a reason instead of a made-up number.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from credlib.telemetry.base import iso_utc

# Unix timestamps below this are seconds, at or above it milliseconds (1e12 ms is 2001-09-09,
# 1e12 s is 33658 AD): the rule All API Hub and New API's legacy handler agree on.
_MS_THRESHOLD = 1e12


class ShapeError(ValueError):
    """An upstream value has the wrong type or an impossible value."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def number(value: Any, where: str) -> float | None:
    """A finite number from a JSON number or numeric string; ``None`` for absent/``null``."""
    if value is None:
        return None
    if isinstance(value, bool):  # bool is an int in Python; an upstream boolean is never an amount
        raise ShapeError(f"{where}: expected a number, got a boolean ({_show(value)})")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = float(text)
        except ValueError:
            raise ShapeError(f"{where}: expected a number, got the string {_show(value)}") from None
    else:
        raise ShapeError(f"{where}: expected a number, got {type(value).__name__} {_show(value)}")
    if not math.isfinite(result):
        raise ShapeError(f"{where}: {_show(value)} is not a finite number")
    return result


def non_negative(value: Any, where: str) -> float | None:
    result = number(value, where)
    if result is not None and result < 0:
        raise ShapeError(f"{where}: negative value {_show(value)}")
    return result


def count(value: Any, where: str) -> int | None:
    """A non-negative whole number (requests, tokens)."""
    result = non_negative(value, where)
    if result is None:
        return None
    if result != int(result):
        raise ShapeError(f"{where}: expected a whole number, got {_show(value)}")
    return int(result)


def flag(value: Any, where: str) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise ShapeError(f"{where}: expected true or false, got {_show(value)}")


def timestamp(value: Any, where: str) -> str | None:
    """ISO 8601 UTC from Unix seconds, Unix milliseconds or an ISO string.

    ``0``, negative numbers and empty strings mean "never expires" in New API / one-api (they store
    -1 and report 0), so they become ``None``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            numeric = float(text)
        except ValueError:
            return _iso(text, where)
        return _from_epoch(numeric, value, where)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ShapeError(f"{where}: expected a timestamp, got {type(value).__name__} {_show(value)}")
    return _from_epoch(float(value), value, where)


def _from_epoch(numeric: float, original: Any, where: str) -> str | None:
    if not math.isfinite(numeric):
        raise ShapeError(f"{where}: {_show(original)} is not a finite timestamp")
    if numeric <= 0:
        return None
    seconds = numeric / 1000 if numeric >= _MS_THRESHOLD else numeric
    try:
        return iso_utc(datetime.fromtimestamp(seconds, tz=UTC))
    except (OverflowError, OSError, ValueError):
        raise ShapeError(f"{where}: timestamp {_show(original)} is out of range") from None


def _iso(text: str, where: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ShapeError(f"{where}: {_show(text)} is not a timestamp (seconds, ms or ISO 8601)") from None
    if moment.tzinfo is None:
        # A zone-less upstream time is read as UTC: guessing the server's zone would be worse.
        moment = moment.replace(tzinfo=UTC)
    return iso_utc(moment)


def parse_iso(text: str) -> datetime | None:
    """The inverse of ``iso_utc`` for stored values; ``None`` if ``text`` is not a timestamp."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
