"""Per-machine directories outside Git (state, config, caches), via platformdirs.

``CREDLIB_STATE_DIR`` and ``CREDLIB_CONFIG_DIR`` override them (tests use these).
"""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    override = os.environ.get("CREDLIB_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_state_dir("credlib"))


def config_dir() -> Path:
    override = os.environ.get("CREDLIB_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("credlib"))
