"""A dotenv file -> candidates.

Recognised: the SDKs' own variables (``OPENAI_API_KEY`` + ``OPENAI_BASE_URL``, ``ANTHROPIC_API_KEY`` or
``ANTHROPIC_AUTH_TOKEN`` + ``ANTHROPIC_BASE_URL``, ``GEMINI_API_KEY``/``GOOGLE_API_KEY`` +
``GOOGLE_GEMINI_BASE_URL``), any ``<NAME>_API_KEY`` with a ``<NAME>_BASE_URL`` (or ``_API_BASE``,
``_BASE``, ``_ENDPOINT``, ``_URL``) and optional ``<NAME>_MODEL``, and All API Hub's copy bundle
(``BASE_URL`` + ``API_KEY``). Values are never expanded or executed.
"""

from __future__ import annotations

import re
from typing import Any

from credlib.errors import Problem, ValidationError
from credlib.gitops.importers.common import Candidate

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$")
_KEY_SUFFIXES = ("_API_KEY", "_AUTH_TOKEN", "_APIKEY")
_BASE_SUFFIXES = ("_BASE_URL", "_API_BASE", "_API_BASE_URL", "_BASE", "_ENDPOINT", "_API_URL", "_URL")
# Known providers: (api_type, default base URL, extra base URL variable names)
_KNOWN: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "OPENAI": ("openai", "https://api.openai.com", ()),
    "ANTHROPIC": ("anthropic", "https://api.anthropic.com", ()),
    "GEMINI": ("google", "https://generativelanguage.googleapis.com", ("GOOGLE_GEMINI_BASE_URL",)),
    "GOOGLE": ("google", "https://generativelanguage.googleapis.com", ("GOOGLE_GEMINI_BASE_URL",)),
}


def _unquote(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        return inner.replace('\\"', '"').replace("\\n", "\n") if value[0] == '"' else inner
    # Unquoted: a " #" starts a comment.
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def parse_env(text: str) -> dict[str, tuple[str, int]]:
    """Variable -> (value, line number); later assignments win, like a shell."""
    out: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match:
            out[match.group(1)] = (_unquote(match.group(2)), number)
    return out


def _prefix_of(var: str) -> str | None:
    if var == "API_KEY":
        return ""
    for suffix in _KEY_SUFFIXES:
        if var.endswith(suffix) and len(var) > len(suffix):
            return var[: -len(suffix)]
    return None


def _base_for(prefix: str, env: dict[str, tuple[str, int]]) -> str | None:
    names = [f"{prefix}{s}" if prefix else s.lstrip("_") for s in _BASE_SUFFIXES]
    known = _KNOWN.get(prefix)
    if known:
        names = list(known[2]) + names
    for name in names:
        if name in env and env[name][0]:
            return env[name][0]
    return known[1] if known else None


def parse_dotenv(text: str, file: str) -> tuple[list[Candidate], list[str]]:
    env = parse_env(text)
    warnings: list[str] = []
    out: list[Candidate] = []
    seen_prefixes: set[str] = set()
    for var, (value, line) in env.items():
        prefix = _prefix_of(var)
        if prefix is None or prefix in seen_prefixes or not value:
            continue
        seen_prefixes.add(prefix)
        base = _base_for(prefix, env)
        label = f"{file}:{line} {var}"
        if base is None:
            warnings.append(f"{label}: no base URL (expected {prefix}_BASE_URL); skipped")
            continue
        known = _KNOWN.get(prefix)
        api_type = known[0] if known else "openai-compatible"
        if known and base != known[1] and api_type == "openai":
            api_type = "openai-compatible"  # an OpenAI SDK pointed at a relay
        item: dict[str, Any] = {
            "name": (prefix.replace("_", " ").strip().title() if prefix else "Imported"),
            "base_url": base,
            "api_key": value,
            "api_type": api_type,
            "tags": ["dotenv"],
        }
        model = env.get(f"{prefix}_MODEL" if prefix else "MODEL")
        if model and model[0]:
            item["models"] = [model[0]]
        out.append(Candidate(item=item, source=label))
    if not out:
        problems = [Problem(message=w, file=file) for w in warnings] or [
            Problem(
                message="no API keys found (expected OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, "
                "or NAME_API_KEY with NAME_BASE_URL)",
                file=file,
            )
        ]
        raise ValidationError(problems, summary=f"nothing to import from {file}")
    return out, warnings
