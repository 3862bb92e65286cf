"""Reusable option decorators that commands stack (pip-tools style)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    """`--json`: machine output on stdout (one object with "format_version": 1)."""
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")(func)
