"""Every git call of the git workflow goes through here (pre-commit's `git.py` pattern)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from credlib.errors import CredlibError, ExitCode, MissingToolError

GIT_TIMEOUT_S = 120


class GitError(CredlibError):
    exit_code = ExitCode.CHECK_FAILED


def git(*args: str, cwd: Path | str | None = None, check: bool = True, timeout: float = GIT_TIMEOUT_S) -> str:
    """Run git with ``args``; return stdout. Never given secrets: only paths, refs and config."""
    binary = shutil.which("git")
    if binary is None:
        raise MissingToolError("git is not installed", hint="install git and re-run")
    env = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
    try:
        proc = subprocess.run(
            [binary, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not finish within {timeout:.0f} s") from None
    if check and proc.returncode != 0:
        raise GitError(f"git {args[0]} failed: {_reason(proc.stderr or proc.stdout, proc.returncode)}")
    return proc.stdout


def _reason(output: str, code: int) -> str:
    """git's own explanation: its first `error:`/`fatal:` line (the last line is often just "Aborting")."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("error:", "fatal:")):
            return line.split(":", 1)[1].strip()
    return lines[-1] if lines else f"exit {code}"


def repo_root(start: Path) -> Path:
    here = start if start.is_dir() else start.parent
    try:
        out = git("rev-parse", "--show-toplevel", cwd=here or Path("."))
    except GitError:
        raise GitError(f"{start} is not inside a Git repository", hint="run `git init` first") from None
    return Path(out.strip())


def show_file(ref: str, repo_path: str, cwd: Path) -> bytes | None:
    """The bytes of ``repo_path`` at ``ref``, or None when it does not exist there."""
    binary = shutil.which("git")
    if binary is None:
        raise MissingToolError("git is not installed")
    proc = subprocess.run(
        [binary, "show", f"{ref}:{repo_path}"],
        cwd=cwd,
        capture_output=True,
        timeout=GIT_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return proc.stdout if proc.returncode == 0 else None


def upstream_ref(cwd: Path) -> str | None:
    out = git(
        "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}", cwd=cwd, check=False
    ).strip()
    return out or None
