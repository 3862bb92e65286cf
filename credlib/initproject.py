"""`credlib init`: the files a new credentials project needs. Never overwrites anything that exists.

- an age identity where sops looks by default ($SOPS_AGE_KEY_FILE, else sops' per-OS default), made
  with pyrage — only when that file does not exist;
- ``.sops.yaml`` with one creation rule: every secret field encrypted, ``mac_only_encrypted`` so
  names, URLs and notes stay diffable and mergeable, the age recipients;
- ``.gitattributes`` routing the file through credlib's textconv and merge driver;
- the empty credentials file with a yaml-language-server modeline, and the JSON Schema beside it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from credlib.errors import FileAccessError, UsageError
from credlib.schema import encrypted_regex

# Matches credentials.yaml, *.credentials.yaml and credentials.d/*.yaml (also sops' private working
# copies credlib makes beside a file: .credlib-*/credentials.yaml).
BASE_PATH_REGEX = r"(^|/)(credentials|[^/]*\.credentials)\.ya?ml$|(^|/)credentials\.d/[^/]+\.ya?ml$"
GIT_ATTRS = "diff=credlib merge=credlib"
_RECIPIENT_RE = re.compile(r"^age1[0-9a-z]{58}$")


@dataclass
class InitReport:
    directory: Path
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    identity_file: str = ""


def identity_file() -> Path:
    """Where sops reads age identities from by default (and so where init puts a new one)."""
    from credlib.sops import default_age_key_file

    override = os.environ.get("SOPS_AGE_KEY_FILE")
    return Path(override).expanduser() if override else default_age_key_file()


def recipients_in_identity_file(path: Path) -> list[str]:
    """Public recipients of every age identity in a keys.txt (derived, not trusted from comments)."""
    return recipients_in_text(path.read_text(encoding="utf-8"))


def recipients_in_text(text: str) -> list[str]:
    import pyrage

    out: list[str] = []
    for line in text.replace(" ", "\n").splitlines():
        line = line.strip()
        if line.startswith("AGE-SECRET-KEY-"):
            try:
                out.append(str(pyrage.x25519.Identity.from_str(line).to_public()))
            except Exception:  # noqa: S112 - a malformed line is skipped; sops would ignore it too
                continue
    return out


def ensure_identity(path: Path) -> tuple[list[str], bool]:
    """Recipients of the identity at ``path``; generate one there only if the file does not exist."""
    if path.exists():
        recips = recipients_in_identity_file(path)
        if not recips:
            raise FileAccessError(f"{path} exists but holds no age identity (AGE-SECRET-KEY-…)",
                                  hint="fix or move that file; credlib never overwrites it")
        return recips, False
    import pyrage

    ident = pyrage.x25519.Identity.generate()
    recipient = str(ident.to_public())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = f"# created by credlib init\n# public key: {recipient}\n{ident}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(body)
    return [recipient], True


def path_regex_for(file_name: str) -> str:
    if re.search(BASE_PATH_REGEX, file_name):
        return BASE_PATH_REGEX
    return BASE_PATH_REGEX + "|(^|/)" + re.escape(file_name) + "$"


def sops_config_text(recipients: list[str], path_regex: str = BASE_PATH_REGEX) -> str:
    """The `.sops.yaml` credlib writes (tests build theirs with this too)."""
    lines = [
        "# Written by credlib init. Secret fields are encrypted; everything else stays readable,",
        "# diffable and mergeable in Git (mac_only_encrypted).",
        "creation_rules:",
        "  - path_regex: " + path_regex,
        "    encrypted_regex: '" + encrypted_regex() + "'",
        "    mac_only_encrypted: true",
        "    age: >-",
        "      " + ",".join(recipients),
    ]
    return "\n".join(lines) + "\n"


def _write_new(path: Path, text: str, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _ensure_gitattributes(path: Path, pattern: str) -> bool:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    if any(line.split()[:1] == [pattern] for line in lines if line.strip()):
        return False
    lines.append(f"{pattern} {GIT_ATTRS}")
    from credlib.state import atomic_write_private

    atomic_write_private(path, ("\n".join(lines) + "\n").encode(), mode=0o644)
    return True


def init_project(credentials_path: Path, *, extra_recipients: tuple[str, ...] = ()) -> InitReport:
    from credlib import store

    target = credentials_path.expanduser()
    directory = target.parent.absolute()
    for r in extra_recipients:
        if not _RECIPIENT_RE.match(r):
            raise UsageError(f"{r!r} is not an age recipient (age1… , 62 characters)")
    if not directory.exists():
        raise FileAccessError(f"directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise FileAccessError(f"cannot write in {directory}: permission denied")
    report = InitReport(directory=directory)

    key_file = identity_file()
    inline = recipients_in_text(os.environ.get("SOPS_AGE_KEY", ""))
    if inline and not key_file.exists():
        # The user keeps the identity in $SOPS_AGE_KEY: use it, create no file.
        recips = inline
        report.identity_file = "$SOPS_AGE_KEY"
        report.kept.append("$SOPS_AGE_KEY")
    else:
        recips, created = ensure_identity(key_file)
        report.identity_file = str(key_file)
        (report.created if created else report.kept).append(str(key_file))
    report.recipients = [*recips, *(r for r in extra_recipients if r not in recips)]

    sops_yaml = directory / ".sops.yaml"
    if sops_yaml.exists():
        report.kept.append(str(sops_yaml))
    else:
        _write_new(sops_yaml, sops_config_text(report.recipients, path_regex_for(target.name)))
        report.created.append(str(sops_yaml))

    attrs = directory / ".gitattributes"
    if _ensure_gitattributes(attrs, f"/{target.name}"):
        report.created.append(f"{attrs} (/{target.name} {GIT_ATTRS})")
    else:
        report.kept.append(str(attrs))

    schema_file = directory / store.SCHEMA_FILE
    if schema_file.exists():
        report.kept.append(str(schema_file))
    else:
        store.write_schema_file(directory)
        report.created.append(str(schema_file))

    if target.exists():
        report.kept.append(str(target))
    else:
        store.create_file(target, {"version": 1, "credentials": []})
        report.created.append(str(target))
    return report
