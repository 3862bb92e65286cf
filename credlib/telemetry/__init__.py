"""Balance and usage telemetry (SPEC §5): one module per query method behind one interface.

The public names are resolved lazily so that importing ``credlib.telemetry.mapping`` (the store's
validator does, at load time) never drags in the network engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from credlib.telemetry.base import Attempt, Metrics, TelemetryResult
    from credlib.telemetry.run import fetch_many, fetch_telemetry

__all__ = ["Attempt", "Metrics", "TelemetryResult", "fetch_many", "fetch_telemetry"]

_LAZY = {
    "Attempt": "credlib.telemetry.base",
    "Metrics": "credlib.telemetry.base",
    "TelemetryResult": "credlib.telemetry.base",
    "fetch_telemetry": "credlib.telemetry.run",
    "fetch_many": "credlib.telemetry.run",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'credlib.telemetry' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
