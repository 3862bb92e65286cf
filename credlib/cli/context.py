"""Per-invocation context shared by every command (set up by the top-level group)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AppContext:
    file: str  # -f/--file or CREDLIB_FILE
    verbose: int = 0
