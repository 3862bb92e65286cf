"""The `--json` envelope of the git-workflow commands: one object with "format_version": 1 (SPEC §3)."""

from __future__ import annotations

import json
import sys
from typing import Any


def envelope(payload: dict[str, Any]) -> dict[str, Any]:
    return {"format_version": 1, **payload}


def emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(envelope(payload), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
