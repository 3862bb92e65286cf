"""`credlib git textconv FILE`: what `git diff` shows for a credentials file.

The decrypted document with every key redacted (``sk-ab…wxyz``), plus the recipients as comments so
a `recipients add/rm` shows up in review; sops' ``mac``/``lastmodified`` churn is left out. When the
file cannot be decrypted here (no key on this machine, not a sops file), the text is shown as it is
with anything key-like masked, so `git diff` never fails and never prints a key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from credlib.errors import CredlibError
from credlib.gitops import sopsmeta
from credlib.gitops.patterns import mask_secrets


def redact_tree(node: Any, key: str = "") -> Any:
    from credlib.redact import redact_key

    if isinstance(node, dict):
        return {k: redact_tree(v, str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [redact_tree(v, key) for v in node]
    if key in sopsmeta.SECRET_FIELDS and isinstance(node, str):
        return redact_key(node)
    return node


def _metadata(text: str) -> dict[str, Any] | None:
    try:
        doc = sopsmeta.load_yaml_plain(text)
    except Exception:  # not YAML at all: shown masked below
        return None
    if isinstance(doc, dict) and isinstance(doc.get("sops"), dict):
        meta: dict[str, Any] = doc["sops"]
        return meta
    return None


def render_text(raw: bytes) -> str:
    from credlib.sops import decrypt_bytes
    from credlib.yamledit import dump_yaml

    text = raw.decode("utf-8", errors="replace")
    meta = _metadata(text)
    if meta is None:
        return "# credlib: not a sops-encrypted file; shown as is, key-like text masked\n" + mask_secrets(
            text
        )
    try:
        data = decrypt_bytes(raw, input_type="yaml")
    except CredlibError as exc:
        first = exc.message.splitlines()[0]
        return f"# credlib: cannot decrypt here ({first}); shown encrypted\n" + mask_secrets(text)
    data.pop("sops", None)
    body = dump_yaml(redact_tree(data))
    recipients = "".join(f"# sops recipient: {r}\n" for r in sorted(sopsmeta.file_recipients(meta)))
    # The redaction above covers the secret fields; masking catches a key pasted anywhere else.
    return mask_secrets(body) + recipients


def textconv(path: Path) -> str:
    return render_text(path.read_bytes())
