"""Copy text to the system clipboard through whichever tool exists (wl-copy, xclip, xsel, pbcopy).

The text goes to the tool's stdin, never its argv. ``copy_text`` returns the tool used, or None
when there is no clipboard (the caller then prints the text instead).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def _candidates() -> list[list[str]]:
    out: list[list[str]] = []
    if sys.platform == "darwin":
        out.append(["pbcopy"])
    if os.environ.get("WAYLAND_DISPLAY"):
        out.append(["wl-copy"])
    if os.environ.get("DISPLAY"):
        out.append(["xclip", "-selection", "clipboard"])
        out.append(["xsel", "--clipboard", "--input"])
    if sys.platform == "win32":
        out.append(["clip"])
    return out


def clipboard_tool() -> list[str] | None:
    for argv in _candidates():
        found = shutil.which(argv[0])
        if found:
            return [found, *argv[1:]]
    return None


def copy_text(text: str, *, timeout: float = 5.0) -> str | None:
    argv = clipboard_tool()
    if argv is None:
        return None
    try:
        # xclip/xsel stay alive to serve the selection: never wait on their stdout/stderr.
        proc = subprocess.run(argv, input=text.encode("utf-8"), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return os.path.basename(argv[0]) if proc.returncode == 0 else None
