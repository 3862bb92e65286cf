"""CC Switch providers -> candidates (research downstream.md §2b).

CC Switch has no per-provider export; what a user has is its database ``~/.cc-switch/cc-switch.db``
(SQLite, table ``providers``), the SQL export it writes from Settings (a text dump starting with
``-- CC Switch SQLite``), or a pre-3.x ``config.json`` (``{"claude": {"providers": {...}}, ...}``).
All three are read here; the database is opened read-only and a SQL dump is loaded into an
in-memory database with ATTACH denied, so importing never writes anywhere but the credentials file.
Each provider's ``settings_config`` is turned into (type, base URL, key, model) per app.
"""

from __future__ import annotations

import json
import sqlite3
import tomllib
from pathlib import Path
from typing import Any

from credlib.errors import Problem, ValidationError
from credlib.gitops.importers.common import Candidate

SQLITE_MAGIC = b"SQLite format 3\x00"
SQL_DUMP_HEADER = "-- CC Switch SQLite"


def _fail(file: str, message: str) -> ValidationError:
    return ValidationError(
        [Problem(message=message, file=file)], summary=f"{file} is not a usable CC Switch export"
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _claude(settings: dict[str, Any]) -> tuple[str, str, str, str | None] | None:
    env = _dict(settings.get("env"))
    key = env.get("ANTHROPIC_AUTH_TOKEN") or env.get("ANTHROPIC_API_KEY")
    if not isinstance(key, str) or not key:
        return None
    base = env.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
    return "anthropic", str(base), key, env.get("ANTHROPIC_MODEL")


def _codex(settings: dict[str, Any]) -> tuple[str, str, str, str | None] | None:
    auth = _dict(settings.get("auth"))
    key = auth.get("OPENAI_API_KEY")
    if not isinstance(key, str) or not key:
        return None
    base, model = "https://api.openai.com", None
    config_text = settings.get("config")
    if isinstance(config_text, str) and config_text.strip():
        try:
            toml = tomllib.loads(config_text)
        except tomllib.TOMLDecodeError:
            toml = {}
        provider = toml.get("model_provider")
        providers = _dict(toml.get("model_providers"))
        entry = providers.get(provider) if isinstance(provider, str) else None
        if isinstance(entry, dict) and isinstance(entry.get("base_url"), str):
            base = entry["base_url"]
        model = toml.get("model") if isinstance(toml.get("model"), str) else None
    api_type = "openai" if "api.openai.com" in base else "openai-compatible"
    return api_type, base, key, model


def _gemini(settings: dict[str, Any]) -> tuple[str, str, str, str | None] | None:
    env = _dict(settings.get("env")) or settings
    key = env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY")
    if not isinstance(key, str) or not key:
        return None
    base = (
        env.get("GOOGLE_GEMINI_BASE_URL")
        or env.get("GEMINI_BASE_URL")
        or "https://generativelanguage.googleapis.com"
    )
    return "google", str(base), key, env.get("GEMINI_MODEL")


def _opencode(settings: dict[str, Any]) -> tuple[str, str, str, str | None] | None:
    options = _dict(settings.get("options"))
    key, base = options.get("apiKey"), options.get("baseURL")
    if not isinstance(key, str) or not key or not isinstance(base, str):
        return None
    models = _dict(settings.get("models"))
    return "openai-compatible", base, key, next(iter(models), None)


_APPS = {"claude": _claude, "codex": _codex, "gemini": _gemini, "opencode": _opencode}


def _candidate(
    app: str, name: str, settings: Any, notes: Any, label: str, warnings: list[str]
) -> Candidate | None:
    if isinstance(settings, str):
        try:
            settings = json.loads(settings)
        except json.JSONDecodeError:
            warnings.append(f"{label}: settings are not JSON; skipped")
            return None
    reader = _APPS.get(app)
    if reader is None:
        warnings.append(f"{label}: app {app!r} is not imported (claude, codex, gemini, opencode are)")
        return None
    found = reader(settings) if isinstance(settings, dict) else None
    if found is None:
        warnings.append(f"{label}: no API key in its settings; skipped")
        return None
    api_type, base, key, model = found
    item: dict[str, Any] = {
        "name": name.strip() or app,
        "base_url": base,
        "api_key": key.strip(),
        "api_type": api_type,
        "tags": [app],
        "notes": str(notes or "").strip(),
    }
    if isinstance(model, str) and model.strip():
        item["models"] = [model.strip()]
    return Candidate(item=item, source=label)


def _deny_attach(action: int, *_args: Any) -> int:
    return (
        sqlite3.SQLITE_DENY if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH) else sqlite3.SQLITE_OK
    )


def _rows(conn: sqlite3.Connection, file: str) -> list[tuple[Any, ...]]:
    try:
        return list(conn.execute("SELECT id, app_type, name, settings_config, notes FROM providers"))
    except sqlite3.Error as exc:
        raise _fail(file, f"no readable `providers` table ({exc})") from None


def _from_rows(rows: list[tuple[Any, ...]], warnings: list[str]) -> list[Candidate]:
    out = []
    for provider_id, app, name, settings, notes in rows:
        cand = _candidate(
            str(app), str(name or provider_id), settings, notes, f"{app} provider {name!r}", warnings
        )
        if cand:
            out.append(cand)
    return out


def parse_cc_switch(path: Path) -> tuple[list[Candidate], list[str]]:
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(file, f"cannot read: {exc.strerror}") from None
    warnings: list[str] = []
    if raw.startswith(SQLITE_MAGIC):
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return _from_rows(_rows(conn, file), warnings), warnings
        finally:
            conn.close()
    text = raw.decode("utf-8", errors="replace")
    if text.lstrip("\ufeff").startswith(SQL_DUMP_HEADER):
        conn = sqlite3.connect(":memory:")
        conn.set_authorizer(_deny_attach)
        try:
            conn.executescript(text)
        except sqlite3.Error as exc:
            raise _fail(file, f"the SQL export does not load ({exc})") from None
        try:
            return _from_rows(_rows(conn, file), warnings), warnings
        finally:
            conn.close()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(
            file, f"neither a CC Switch database, SQL export nor config.json (line {exc.lineno}: {exc.msg})"
        ) from None
    if not isinstance(doc, dict):
        raise _fail(file, "config.json must be a JSON object")
    out: list[Candidate] = []
    apps = {"claude": doc} if "providers" in doc else doc
    for app, section in apps.items():
        providers = section.get("providers") if isinstance(section, dict) else None
        if not isinstance(providers, dict):
            continue
        for provider_id, provider in providers.items():
            if not isinstance(provider, dict):
                continue
            cand = _candidate(
                app,
                str(provider.get("name") or provider_id),
                provider.get("settingsConfig"),
                provider.get("notes"),
                f"{app} provider {provider_id!r}",
                warnings,
            )
            if cand:
                out.append(cand)
    if not out and not warnings:
        raise _fail(file, "no providers found")
    return out, warnings
