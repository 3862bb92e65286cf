"""Output helpers: JSON on stdout, tables, progress and messages on stderr (SPEC §3).

rich is imported only when a table or a progress bar is actually drawn.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

FORMAT_VERSION = 1


def emit_json(payload: dict[str, Any]) -> None:
    """Print one JSON object with ``"format_version": 1`` first."""
    body = {"format_version": FORMAT_VERSION, **{k: v for k, v in payload.items() if k != "format_version"}}
    sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def echo(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def echo_err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def display_width(text: str) -> int:
    """Terminal columns: East Asian wide and full-width characters take two."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, title: str = "") -> str:
    """Plain, aligned columns (what is printed when stdout is not a terminal, and in tests)."""
    widths = [display_width(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], display_width(cell))
    lines = [title] if title else []
    lines.append("  ".join(_pad(h, widths[i]) for i, h in enumerate(headers)).rstrip())
    for row in rows:
        lines.append("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
    return "\n".join(lines)


# rich lays out a table in roughly half a millisecond per row: beyond this many rows (a 1,000-credential
# `ls` would spend longer drawing than sops spends decrypting) the aligned plain table is printed instead.
RICH_MAX_ROWS = 100


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, title: str = "") -> None:
    """A rich table on a terminal, aligned plain text otherwise (pipes, files, tests, long tables)."""
    if not _is_tty(sys.stdout) or len(rows) > RICH_MAX_ROWS:
        echo(render_table(headers, rows, title=title))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title or None, show_lines=False, header_style="bold")
    for h in headers:
        table.add_column(h, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


class Progress:
    """Progress on stderr that only appears once a run has taken more than ``delay_s``."""

    def __init__(self, total: int, label: str, *, delay_s: float = 1.0) -> None:
        self.total = total
        self.label = label
        self.delay_s = delay_s
        self.done = 0
        self._start = time.monotonic()
        self._bar: Any = None
        self._task: Any = None

    def advance(self, step: int = 1) -> None:
        self.done += step
        if self._bar is None and time.monotonic() - self._start >= self.delay_s and _is_tty(sys.stderr):
            from rich.console import Console
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, completed=self.done)
        elif self._bar is not None:
            self._bar.update(self._task, completed=self.done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


@contextmanager
def progress(total: int, label: str, *, delay_s: float = 1.0) -> Iterator[Progress]:
    """``with progress(n, "verifying") as p: ... p.advance()`` — silent for runs under ``delay_s``."""
    bar = Progress(total, label, delay_s=delay_s)
    try:
        yield bar
    finally:
        bar.close()


def credential_dict(cred: Any, *, reveal: bool = False) -> dict[str, Any]:
    """The JSON shape of one credential (``ls``/``show``); the key is redacted unless ``reveal``."""
    from credlib.redact import redact_key

    tel = cred.telemetry
    telemetry: dict[str, Any] = {"method": tel.method}
    if tel.endpoint:
        telemetry["endpoint"] = tel.endpoint
    if tel.mapping:
        telemetry["mapping"] = dict(tel.mapping)
    if tel.quota_per_unit is not None:
        telemetry["quota_per_unit"] = tel.quota_per_unit
    if tel.bearer_token:
        telemetry["bearer_token"] = tel.bearer_token if reveal else redact_key(tel.bearer_token)
    return {
        "name": cred.name,
        "id": cred.id,
        "base_url": cred.base_url,
        "api_type": cred.api_type,
        "api_key": cred.api_key if reveal else redact_key(cred.api_key),
        "tags": list(cred.tags),
        "notes": cred.notes,
        "models": list(cred.models),
        "expires_at": cred.expires_at,
        "telemetry": telemetry,
        "file": cred.source_file,
    }
