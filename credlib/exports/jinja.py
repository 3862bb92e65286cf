"""The Jinja environment export templates run in: strict, no autoescape, credlib's filters.

Templates are looked up in the installed package (``credlib/templates``, force-included in the
wheel) first, then in the repository's ``templates/`` (editable installs).
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote_plus, urlencode

from credlib.exports import urls

if TYPE_CHECKING:
    import jinja2

_PACKAGE_DIR = Path(__file__).resolve().parent.parent / "templates"
_REPO_DIR = Path(__file__).resolve().parents[2] / "templates"

# New API family channel type codes (research downstream.md §6): the families diverge after 26.
CHANNEL_TYPES: dict[str, dict[str, int]] = {
    "new-api": {"openai-compatible": 1, "openai": 1, "anthropic": 14, "google": 24},
    "veloera": {"openai-compatible": 1, "openai": 1, "anthropic": 14, "google": 24},
    "one-api": {"openai-compatible": 1, "openai": 1, "anthropic": 14, "google": 24},
    "done-hub": {"openai-compatible": 1, "openai": 1, "anthropic": 14, "google": 25},
}


class TemplateFailure(Exception):
    """Raised by ``fail()`` inside a template: the rendering is refused with this message."""


def template_dirs() -> list[Path]:
    return [d for d in (_PACKAGE_DIR, _REPO_DIR) if d.is_dir()]


def find_template(name: str) -> Path:
    for directory in template_dirs():
        candidate = directory / name
        if candidate.is_file():
            return candidate
    from credlib.errors import CredlibError, ExitCode

    raise CredlibError(
        f"shipped template {name} not found in {', '.join(map(str, template_dirs())) or 'any folder'}",
        exit_code=ExitCode.INTERNAL,
    )


def _tojson(value: Any, indent: int | None = None) -> str:
    # Compact unless asked: deep links stay short, and files are re-indented when written.
    separators = (",", ":") if indent is None else None
    return json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)


def _toyaml(value: Any) -> str:
    from credlib.exports.formats import plain_yaml, to_plain

    return plain_yaml(to_plain(value))


def _toml(value: Any) -> str:
    import tomlkit

    return str(tomlkit.item(value).as_string())


def _tomlkey(value: str) -> str:
    text = str(value)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else _toml(text)


_DOTENV_PLAIN = re.compile(r"^[A-Za-z0-9_./:@+,-]*$")


def _dotenv(value: Any) -> str:
    text = "" if value is None else str(value)
    if _DOTENV_PLAIN.fullmatch(text):
        return text
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("$", "\\$")
        .replace("`", "\\`")
        .replace("\n", "\\n")
    )
    return f'"{escaped}"'


def _slug(value: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", str(value).casefold()).strip("-")
    return slug or "credential"


def _envname(value: str) -> str:
    name = re.sub(r"[^A-Z0-9]+", "_", str(value).upper()).strip("_")
    return name if name and not name[0].isdigit() else f"C_{name}"


def _b64(value: str) -> str:
    return base64.b64encode(str(value).encode()).decode()


def _b64url(value: str) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def _form(params: dict[str, Any]) -> str:
    """``application/x-www-form-urlencoded`` like the browser's URLSearchParams (space becomes ``+``)."""
    clean = {k: v for k, v in params.items() if v is not None and v != ""}
    return urlencode(clean, quote_via=quote_plus)


def _fail(message: str) -> NoReturn:
    raise TemplateFailure(message)


def _channel_type(api_type: str, family: str) -> int:
    return CHANNEL_TYPES[family][api_type]


FILTERS: dict[str, Any] = {
    "tojson": _tojson,
    "toyaml": _toyaml,
    "toml": _toml,
    "tomlkey": _tomlkey,
    "dotenv": _dotenv,
    "slug": _slug,
    "envname": _envname,
    "b64": _b64,
    "b64url": _b64url,
    "form": _form,
    "openai_base": urls.openai_base,
    "with_v1": urls.openai_base,
    "root_base": urls.root_base,
    "gemini_v1beta": urls.gemini_v1beta,
    "origin": urls.origin,
    "ccr_endpoint": urls.ccr_endpoint,
    "channel_type": _channel_type,
}


@cache
def environment(extra_dir: str | None = None) -> jinja2.Environment:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    search = [str(d) for d in template_dirs()]
    if extra_dir:
        search.insert(0, extra_dir)
    # Sandboxed: a template can come from a teammate through Git, and rendering it must not run code.
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(search),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # the outputs are JSON/YAML/TOML/URLs, never HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals["fail"] = _fail
    return env
