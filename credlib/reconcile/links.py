"""Handing deep links to the operating system's URL opener (``apply --open``).

A deep link carries the key (that is what it is for), so it only ever goes to the opener the user
asked for. The opener receives it as an argument; operating systems offer no other channel to
their URL handlers, which is why opening is opt-in and printing is the default.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def opener_command() -> list[str] | None:
    if sys.platform == "darwin":
        return ["open"]
    for name in ("xdg-open", "gio"):
        found = shutil.which(name)
        if found:
            return [found, "open"] if name == "gio" else [found]
    return None


def open_link(link: str) -> str | None:
    """Open one link; return an error message (secret-free) or None."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        try:
            os.startfile(link)  # type: ignore[attr-defined]  # noqa: S606
        except OSError as exc:
            return f"the system could not open the link: {exc.strerror}"
        return None
    cmd = opener_command()
    if cmd is None:
        return "no URL opener found (xdg-open/open); copy the printed link instead"
    try:
        done = subprocess.run([*cmd, link], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{cmd[0]} failed: {type(exc).__name__}"
    if done.returncode != 0:
        return f"{os.path.basename(cmd[0])} exited with {done.returncode}"
    return None
