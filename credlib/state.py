"""Per-machine state (SPEC §6): outside Git, no secrets — hashes and redacted results only.

One JSON file per credentials file, in the platform state dir, keyed by the credentials file's
absolute path. Holds:
- ``verify``:    credential id -> last verify result (the redacted dict `verify --json` prints)
- ``telemetry``: credential id -> last telemetry result (metrics, health, refreshed_at, attempts)
- ``targets``:   target name -> {"hash": sha256 of what credlib last wrote, "written_at", ...}
- ``deeplinks``: target name -> {credential id: sha256 of the link last issued}
- ``owned``:     target name -> delivery-specific ownership records (e.g. upserted channel ids)
- ``plan_cache``: target name -> hashes of a file target's inputs and files when it last matched
- ``responses``: credential id -> whether its endpoint serves the Responses API (Codex targets)
Writes are atomic (temp file + fsync + rename, mode 0600). ``apply_lock`` is the exclusive lock that
stops two applies at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from credlib.errors import FileAccessError, LockedError
from credlib.paths import state_dir

STATE_VERSION = 1
SECTIONS = ("verify", "telemetry", "targets", "deeplinks", "owned", "plan_cache", "responses")


def _key_for(credentials_path: str | Path) -> str:
    resolved = str(Path(credentials_path).expanduser().resolve())
    return hashlib.sha256(resolved.encode()).hexdigest()[:16]


def state_path_for(credentials_path: str | Path, *, root: Path | None = None) -> Path:
    """Where the state of one credentials file lives; ``root`` replaces the platform state dir
    (the demo keeps its state in its scratch directory so it never touches the user's)."""
    base = root if root is not None else state_dir()
    return base / "files" / _key_for(credentials_path) / "state.json"


def credential_fingerprint(api_type: str, base_url: str, api_key: str) -> str:
    """A one-way tag of what a verify result was about, so a stale result is never reused after the
    key, URL or type changed. sha256 of a high-entropy key reveals nothing usable (SPEC §6: hashes only)."""
    return hashlib.sha256(f"{api_type}\0{base_url}\0{api_key}".encode()).hexdigest()[:24]


def sha256_text(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


class State:
    """In-memory view of one state file; call ``save()`` to persist."""

    def __init__(self, path: Path, data: dict[str, Any] | None = None) -> None:
        self.path = path
        self.data: dict[str, Any] = data or {}
        self.data.setdefault("version", STATE_VERSION)
        for section in SECTIONS:
            self.data.setdefault(section, {})
        self._loaded = self._fingerprint()

    @classmethod
    def load(cls, credentials_path: str | Path, *, root: Path | None = None) -> State:
        path = state_path_for(credentials_path, root=root)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path, {"credentials_file": str(Path(credentials_path).expanduser().resolve())})
        except OSError as exc:
            raise FileAccessError(f"cannot read state file {path}: {exc.strerror}") from None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            # A corrupt state file only costs us history; never block the user on it.
            data = {}
        if not isinstance(data, dict):
            data = {}
        return cls(path, data)

    def section(self, name: str) -> dict[str, Any]:
        value: dict[str, Any] = self.data.setdefault(name, {})
        return value

    def record(self, section: str, key: str, value: Any) -> None:
        self.section(section)[key] = value

    def get(self, section: str, key: str) -> Any:
        return self.section(section).get(key)

    def save(self) -> None:
        self.data["saved_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        payload = json.dumps(self.data, indent=2, sort_keys=True) + "\n"
        atomic_write_private(self.path, payload.encode())
        self._loaded = self._fingerprint()

    def save_if_changed(self) -> bool:
        """Persist only when something other than ``saved_at`` changed; a no-op run leaves the file alone."""
        if self._fingerprint() == self._loaded and self.path.exists():
            return False
        self.save()
        return True

    def _fingerprint(self) -> str:
        body = {k: v for k, v in self.data.items() if k != "saved_at"}
        return sha256_text(json.dumps(body, sort_keys=True, default=str))


def atomic_write_private(path: Path, content: bytes, mode: int = 0o600) -> None:
    """Write ``content`` to ``path`` atomically with ``mode``: temp file in the same dir, fsync, rename.

    Parent directories that do not exist are created with 0700. A reader sees the old or the new
    file, never a torn one, even if the process is killed half-way.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise FileAccessError(f"cannot write {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock on ``fd`` without waiting; False when another process holds it.

    The OS drops the lock when the holder dies (even by SIGKILL), so a crash never leaves it stuck.
    """
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def apply_lock(
    credentials_path: str | Path, *, wait_s: float = 0.0, root: Path | None = None
) -> Iterator[None]:
    """Exclusive per-credentials-file lock; waits up to ``wait_s`` then raises ``LockedError``."""
    lock_path = state_path_for(credentials_path, root=root).with_name("apply.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise LockedError(
                    "another credlib apply is running for this credentials file",
                    hint=f"wait for it to finish (lock: {lock_path})",
                )
            time.sleep(0.1)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)
