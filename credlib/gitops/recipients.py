"""`credlib recipients add|rm|ls`: who (which machines, which teammates) can decrypt the credentials.

Adding edits `.sops.yaml` (ruamel round-trip: comments and layout kept) and runs `sops updatekeys`,
which re-encrypts only the data key: values and their ciphertext stay as they are. Removing also
rotates the data key, because the removed recipient may have kept the old one — and that still does
not protect the keys they could already read, so we remind the user to revoke them at the providers.
If anything fails, `.sops.yaml` is restored and no credentials file is touched.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credlib.errors import CredlibError, FileAccessError, NotFoundError, UsageError
from credlib.gitops import sopsmeta

REVOKE_REMINDER = (
    "The data key was rotated, but whoever held the removed identity could read every key in this file "
    "(and in its Git history). Revoke those keys at the providers and store new ones "
    "(`credlib set NAME api_key -` reads the new key from stdin)."
)


class RecipientError(UsageError):
    pass


def parse_recipient(text: str) -> str:
    """A validated age recipient (``age1…``) or SSH public key; never echoes a secret key back."""
    import pyrage

    value = text.strip()
    if value.upper().startswith("AGE-SECRET-KEY-"):
        raise RecipientError(
            "that is an age SECRET key, not a recipient; never share it",
            hint="give the public recipient instead: the `# public key: age1…` line of your keys.txt "
            "(or `age-keygen -y keys.txt`)",
        )
    try:
        if value.startswith("age1"):
            pyrage.x25519.Recipient.from_str(value)
            return value
        if value.startswith(("ssh-ed25519 ", "ssh-rsa ")):
            pyrage.ssh.Recipient.from_str(value)
            return value
    except Exception as exc:  # pyrage.RecipientError: a bad checksum or encoding
        raise RecipientError(f"{_shorten(value)!r} is not a valid age recipient ({exc})") from None
    raise RecipientError(
        f"{_shorten(value)!r} is not an age recipient",
        hint="an age recipient starts with `age1` (see `# public key:` in the keys.txt of that machine); "
        "ssh-ed25519/ssh-rsa public keys work too",
    )


def _shorten(value: str) -> str:
    return value if len(value) <= 24 else value[:20] + "…"


@dataclass
class RecipientChange:
    config: Path
    recipients: list[str]
    changed_config: bool
    files: list[Path] = field(default_factory=list)
    rotated: bool = False


def _load_rt(path: Path) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml, yaml.load(path.read_text(encoding="utf-8"))


def _rules_for(doc: Any, config: Path, files: list[Path]) -> list[Any]:
    """The creation rules (round-trip nodes) that govern ``files``."""
    rules: list[Any] = []
    for file in files:
        found = sopsmeta.matching_rule(config, file)
        if found is None:
            raise CredlibError(
                f"no creation rule in {config} matches {file}",
                hint="run `credlib init`, or add a rule for this path to .sops.yaml",
            )
        node = doc["creation_rules"][found[0]]
        if "key_groups" in node:
            raise UsageError(f"{config}: rule {found[0]} uses key_groups; edit its recipients by hand")
        if all(node is not r for r in rules):
            rules.append(node)
    return rules


def _write_age(rule: Any, recipients: list[str]) -> None:
    from ruamel.yaml.comments import CommentedSeq
    from ruamel.yaml.scalarstring import FoldedScalarString

    current = rule.get("age")
    if isinstance(current, list):
        seq = CommentedSeq(recipients)
        rule["age"] = seq
    elif isinstance(current, FoldedScalarString) or current is None:
        # One recipient per line reads (and diffs) best; sops trims the folded spaces.
        rule["age"] = FoldedScalarString(",\n".join(recipients))
    else:
        rule["age"] = ",".join(recipients)


def change_recipients(
    credentials_path: Path, *, add: str | None = None, remove: str | None = None
) -> RecipientChange:
    from credlib import sops
    from credlib.state import atomic_write_private
    from credlib.store import files_of

    files = files_of(credentials_path)
    config = sopsmeta.find_sops_config(files[0].parent)
    if config is None:
        raise FileAccessError(f"no .sops.yaml found for {credentials_path}", hint="run `credlib init` first")
    original = config.read_bytes()
    yaml, doc = _load_rt(config)
    rules = _rules_for(doc, config, files)
    current = sopsmeta.split_recipients(rules[0].get("age"))
    wanted = list(current)
    if add is not None and add not in wanted:
        wanted.append(add)
    if remove is not None:
        if all(remove not in sopsmeta.split_recipients(r.get("age")) for r in rules):
            raise NotFoundError(f"{_shorten(remove)} is not a recipient in {config}")
        wanted = [r for r in wanted if r != remove]
        if not wanted:
            raise UsageError("refusing to remove the last recipient: nobody could decrypt the file")
    changed = False
    for rule in rules:
        have = sopsmeta.split_recipients(rule.get("age"))
        new = [r for r in have if r != remove] + ([add] if add is not None and add not in have else [])
        if new != have:
            _write_age(rule, new)
            changed = True
    result = RecipientChange(config=config, recipients=wanted, changed_config=changed)
    if changed:
        buf = io.StringIO()
        yaml.dump(doc, buf)
        atomic_write_private(config, buf.getvalue().encode("utf-8"), mode=config.stat().st_mode & 0o777)
    try:
        for file in files:
            meta = _file_meta(file)
            if sopsmeta.file_recipients(meta) != set(wanted):
                sops.updatekeys(file)
                result.files.append(file)
            if remove is not None and file in result.files:
                sops.rotate(file)
                result.rotated = True
    except BaseException:
        if changed:
            atomic_write_private(config, original, mode=config.stat().st_mode & 0o777)
        raise
    return result


def _file_meta(file: Path) -> dict[str, Any]:
    doc = sopsmeta.load_yaml_plain(file.read_text(encoding="utf-8"))
    meta = doc.get("sops") if isinstance(doc, dict) else None
    if not isinstance(meta, dict):
        raise CredlibError(f"{file} is not sops-encrypted", hint="encrypt it before changing recipients")
    return meta


def list_recipients(credentials_path: Path) -> dict[str, Any]:
    from credlib.store import files_of

    files = files_of(credentials_path)
    config = sopsmeta.find_sops_config(files[0].parent)
    configured: list[str] = []
    if config is not None:
        found = sopsmeta.matching_rule(config, files[0])
        if found is not None:
            configured = sorted(sopsmeta.rule_recipients(found[1]))
    return {
        "config": str(config) if config else None,
        "recipients": configured,
        "files": [
            {"file": str(f), "recipients": sorted(sopsmeta.file_recipients(_file_meta(f)))} for f in files
        ],
    }
