"""`credlib export NAME --to TYPE`: one credential rendered for one target type, as text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from credlib.errors import CredlibError, UsageError
from credlib.exports.registry import resolve_type
from credlib.exports.render import render_target
from credlib.model import Credential, Target


def parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    """``K=V`` pairs; a value that is JSON (true, 3, ["a"]) is taken as such, anything else as text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option wants KEY=VALUE, got {pair!r}")
        try:
            options[key.strip()] = json.loads(value)
        except ValueError:
            options[key.strip()] = value
    return options


def export_text(
    cred: Credential,
    type_name: str,
    options: dict[str, Any] | None = None,
    *,
    template: str | None = None,
    base_dir: Path | None = None,
) -> str:
    target = Target(
        name=f"export:{type_name}", type=type_name, options=dict(options or {}), template=template
    )
    ttype = resolve_type(target)
    if cred.api_type not in ttype.supports:
        takes = ", ".join(sorted(ttype.supports))
        raise CredlibError(f"{type_name} does not take {cred.api_type} credentials (it takes: {takes})")
    rendering = render_target(target, [cred], base_dir=base_dir)
    if rendering.skipped:
        raise CredlibError(f"{cred.name}: {rendering.skipped[0][1]}")
    return rendering.text()
