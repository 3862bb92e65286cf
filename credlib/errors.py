"""The one error family credlib raises, and the exit codes it maps to.

Every failure a user can cause (bad input, missing tool, wrong key) is a ``CredlibError`` with a
message that is safe to print: messages never contain key material. The CLI turns these into a
one-line message and the exit code below; anything else becomes "an unexpected error" with a log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1  # a key failed verification, `check` found a problem, a target failed to apply
    CHANGES_PENDING = 2  # `plan --detailed-exitcode` only
    INVALID_FILE = 3  # the credentials file (or another input file) does not validate
    SOPS_FAILED = 4  # decryption/encryption failed: no key, MAC mismatch, not encrypted, no creation rule
    MISSING_TOOL = 5  # sops (or another required binary) is missing or too old
    IO_ERROR = 6  # cannot read/write a path (permissions, read-only directory, missing file)
    LOCKED = 7  # another credlib apply holds the lock
    NOT_FOUND = 8  # a named credential/target does not exist
    USAGE = 64  # bad command line (click usage errors are remapped from 2 to this)
    INTERNAL = 70  # a bug: unexpected exception, logged with a traceback
    INTERRUPTED = 130


@dataclass(frozen=True)
class Problem:
    """One validation problem, located as precisely as we can."""

    message: str
    path: str = ""  # field path, e.g. "credentials[3].base_url"
    file: str = ""
    line: int | None = None

    def render(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        field_part = f" {self.path}:" if self.path else ""
        return f"{where}:{field_part} {self.message}"


class CredlibError(Exception):
    """A failure with a user-facing, secret-free message and an exit code."""

    exit_code: ExitCode = ExitCode.CHECK_FAILED

    def __init__(self, message: str, *, exit_code: ExitCode | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def render(self) -> str:
        text = f"error: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class ValidationError(CredlibError):
    """The input file does not validate; carries every problem found, not just the first."""

    exit_code = ExitCode.INVALID_FILE

    def __init__(self, problems: list[Problem], *, summary: str = "") -> None:
        self.problems = problems
        count = len(problems)
        head = summary or f"{count} problem{'s' if count != 1 else ''} found"
        super().__init__(head + "\n" + "\n".join("  " + p.render() for p in problems))


class SopsError(CredlibError):
    exit_code = ExitCode.SOPS_FAILED


class MissingToolError(CredlibError):
    exit_code = ExitCode.MISSING_TOOL


class FileAccessError(CredlibError):
    exit_code = ExitCode.IO_ERROR


class LockedError(CredlibError):
    exit_code = ExitCode.LOCKED


class NotFoundError(CredlibError):
    exit_code = ExitCode.NOT_FOUND


class UsageError(CredlibError):
    exit_code = ExitCode.USAGE


@dataclass
class ProblemList:
    """Collects problems while validating so all of them are reported at once."""

    file: str = ""
    items: list[Problem] = field(default_factory=list)

    def add(self, path: str, message: str, line: int | None = None) -> None:
        self.items.append(Problem(message=message, path=path, file=self.file, line=line))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)
