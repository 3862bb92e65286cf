"""`credlib import` from All API Hub backups, CC Switch and dotenv files, through the real sops."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from credlib.redact import redact_key
from tests.fixtures.env import fake_key
from tests.fixtures.git import run_credlib
from tests.test_merge_git import decrypt

DAY_MS = 1_800_000_000_000  # a local-midnight-ish timestamp in ms, as All API Hub stores expiresAt


def _tag(tag_id: str, name: str) -> dict[str, Any]:
    return {"id": tag_id, "name": name, "createdAt": 1, "updatedAt": 1}


def all_api_hub_backup(keys: dict[str, str]) -> dict[str, Any]:
    """A full backup in the shape of research/all-api-hub.md §9 (profiles container version 5)."""
    profiles = [
        {
            "id": "api-profile-1",
            "name": "Company Relay",
            "apiType": "openai-compatible",
            "baseUrl": "https://relay.example.com/v1",
            "apiKey": keys["relay"],
            "tagIds": ["tag-work"],
            "notes": "Only supports Claude models",
            "telemetryConfig": {"mode": "newApiTokenUsage"},
            "createdAt": 10,
            "updatedAt": 100,
        },
        # Same type + base URL (after normalization) + key: a duplicate; the newer one wins, tags merge.
        {
            "id": "api-profile-2",
            "name": "Company Relay (new)",
            "apiType": "openai-compatible",
            "baseUrl": "relay.example.com",
            "apiKey": keys["relay"],
            "tagIds": ["tag-cheap"],
            "notes": "",
            "createdAt": 20,
            "updatedAt": 200,
        },
        {
            "id": "api-profile-3",
            "name": "Claude Direct",
            "apiType": "anthropic",
            "baseUrl": "https://api.anthropic.com/v1",
            "apiKey": keys["claude"],
            "tagIds": ["tag-work", "tag-gone"],
            "notes": "personal",
            "expiresAt": DAY_MS,
            "telemetryConfig": {
                "mode": "customReadOnlyEndpoint",
                "customEndpoint": {
                    "endpoint": "/api/usage",
                    "bearerToken": keys["bearer"],
                    "jsonPaths": {"balanceUsd": "data.balance", "todayCostUsd": "data.today.cost"},
                },
            },
            "createdAt": 30,
            "updatedAt": 300,
        },
        {
            "id": "api-profile-4",
            "name": "Gemini",
            "apiType": "google",
            "baseUrl": "https://generativelanguage.googleapis.com/v1beta",
            "apiKey": keys["gemini"],
            "tagIds": [],
            "notes": "",
            "telemetryConfig": {"mode": "disabled"},
            "createdAt": 40,
            "updatedAt": 400,
        },
        {
            "id": "api-profile-5",
            "name": "Cross Origin",
            "apiType": "openai",
            "baseUrl": "https://api.openai.com/v1",
            "apiKey": keys["cross"],
            "tagIds": [],
            "telemetryConfig": {
                "mode": "customReadOnlyEndpoint",
                "customEndpoint": {
                    "endpoint": "https://billing.elsewhere.example/usage",
                    "jsonPaths": {"balanceUsd": "b"},
                },
            },
            "createdAt": 50,
            "updatedAt": 500,
        },
        {
            "id": "api-profile-6",
            "name": "Empty Key",
            "apiType": "openai-compatible",
            "baseUrl": "https://empty.example.com",
            "apiKey": "  ",
            "tagIds": [],
            "createdAt": 60,
            "updatedAt": 600,
        },
        {
            "id": "api-profile-7",
            "name": "Already Here",
            "apiType": "openai-compatible",
            "baseUrl": "https://existing.example.com/v1/",
            "apiKey": keys["existing"],
            "tagIds": [],
            "createdAt": 70,
            "updatedAt": 700,
        },
    ]
    return {
        "version": "4.0",
        "timestamp": 1_790_000_000_000,
        "accounts": [],
        "preferences": {},
        "channelConfigs": {},
        "tagStore": {
            "version": 1,
            "tagsById": {
                "tag-work": _tag("tag-work", "work"),
                "tag-cheap": _tag("tag-cheap", " cheap  tier "),
            },
        },
        "apiCredentialProfiles": {
            "version": 5,
            "profiles": profiles,
            "links": [],
            "linkTombstones": [],
            "lastUpdated": 1_790_000_000_000,
        },
    }


@pytest.fixture
def keys() -> dict[str, str]:
    return {name: fake_key() for name in ("relay", "claude", "gemini", "cross", "existing", "bearer")}


@pytest.fixture
def target(encrypted_file: Callable[..., Path], keys: dict[str, str]) -> Path:
    return encrypted_file(
        {
            "version": 1,
            "credentials": [
                {"name": "Existing", "base_url": "https://existing.example.com", "api_key": keys["existing"]}
            ],
        }
    )


def _leaks(text: str, keys: dict[str, str]) -> list[str]:
    return [k for k in keys.values() if k in text]


def test_all_api_hub_backup_round_trip(target: Path, keys: dict[str, str], tmp_path: Path) -> None:
    backup = tmp_path / "all-api-hub-backup-2026-12-04.json"
    backup.write_text(json.dumps(all_api_hub_backup(keys), indent=2))
    proc = run_credlib(target.parent, "import", "--from", "all-api-hub", str(backup))
    assert proc.returncode == 0, proc.stderr
    assert not _leaks(proc.stdout + proc.stderr, keys)
    assert "Cross Origin" in proc.stderr and "another origin" in proc.stderr

    data = decrypt(target)
    creds = {c["name"]: c for c in data["credentials"]}
    assert sorted(creds) == ["Claude Direct", "Company Relay (new)", "Cross Origin", "Existing", "Gemini"]
    relay = creds["Company Relay (new)"]
    assert relay["api_key"] == keys["relay"] and relay["base_url"] == "https://relay.example.com"
    assert relay["tags"] == ["cheap tier", "work"]
    claude = creds["Claude Direct"]
    assert claude["api_type"] == "anthropic" and claude["tags"] == ["work"] and claude["notes"] == "personal"
    assert claude["telemetry"] == {
        "method": "custom",
        "endpoint": "/api/usage",
        "bearer_token": keys["bearer"],
        "mapping": {"balance": "data.balance", "today_cost": "data.today.cost"},
    }
    assert claude["expires_at"].startswith("2027-01-1")
    assert creds["Gemini"]["telemetry"] == {"method": "disabled"}
    assert creds["Gemini"]["base_url"] == "https://generativelanguage.googleapis.com"
    assert "telemetry" not in creds["Cross Origin"]
    # Keys (and the bearer token) are encrypted in the file; the rest stays readable.
    text = target.read_text()
    assert not _leaks(text, keys)
    assert text.count("api_key: ENC[") == 5 and "bearer_token: ENC[" in text
    assert "notes: personal" in text
    assert run_credlib(target.parent, "check").returncode == 0

    # Importing again adds nothing: every profile is already there.
    before = target.read_bytes()
    again = run_credlib(target.parent, "import", "--from", "all-api-hub", str(backup))
    assert again.returncode == 0 and "added 0" in again.stderr
    assert target.read_bytes() == before


def test_dry_run_writes_nothing_and_shows_redacted(
    target: Path, keys: dict[str, str], tmp_path: Path
) -> None:
    backup = tmp_path / "backup.json"
    backup.write_text(json.dumps(all_api_hub_backup(keys)))
    before = target.read_bytes()
    proc = run_credlib(target.parent, "import", "--from", "all-api-hub", "--dry-run", "--json", str(backup))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["format_version"] == 1 and report["dry_run"] is True
    assert [a["name"] for a in report["added"]] == [
        "Company Relay (new)",
        "Claude Direct",
        "Gemini",
        "Cross Origin",
    ]
    assert report["added"][0]["api_key"] == redact_key(keys["relay"])
    reasons = {s["name"]: s["reason"] for s in report["skipped"]}
    assert "duplicate" in reasons["Company Relay"]
    assert reasons["Empty Key"] == "empty API key"
    assert "already in the file" in reasons["Already Here"]
    assert not _leaks(proc.stdout + proc.stderr, keys)
    assert target.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [
        '{"version": "4.0", "apiCredentialProfiles": {"version": 5, "profiles": [',
        '["not", "an", "object"]',
        '{"version": "4.0", "accounts": []}',
        '{"apiCredentialProfiles": {"version": 9, "profiles": []}}',
    ],
    ids=["truncated", "not-object", "no-profiles", "too-new"],
)
def test_corrupt_backup_is_refused(target: Path, tmp_path: Path, content: str) -> None:
    backup = tmp_path / "backup.json"
    backup.write_text(content)
    before = target.read_bytes()
    proc = run_credlib(target.parent, "import", "--from", "all-api-hub", str(backup))
    assert proc.returncode == 3, proc.stderr
    assert str(backup) in proc.stderr and "not a usable All API Hub backup" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert target.read_bytes() == before


def test_dotenv_import(target: Path, keys: dict[str, str], tmp_path: Path) -> None:
    env = tmp_path / "team.env"
    env.write_text(
        "# my keys\n"
        f"export OPENAI_API_KEY='{keys['relay']}'\n"
        "OPENAI_BASE_URL=https://relay.example.com/v1  # a relay\n"
        f'ANTHROPIC_AUTH_TOKEN="{keys["claude"]}"\n'
        f"MYRELAY_API_KEY={keys['gemini']}\nMYRELAY_BASE_URL=https://my.example.com/v1\nMYRELAY_MODEL=gpt-5\n"
        f"ORPHAN_API_KEY={keys['cross']}\n"
    )
    proc = run_credlib(target.parent, "import", "--from", "dotenv", str(env))
    assert proc.returncode == 0, proc.stderr
    assert "ORPHAN_API_KEY" in proc.stderr and not _leaks(proc.stdout + proc.stderr, keys)
    creds = {c["name"]: c for c in decrypt(target)["credentials"]}
    assert creds["Openai"]["base_url"] == "https://relay.example.com"
    assert creds["Openai"]["api_type"] == "openai-compatible" and creds["Openai"]["api_key"] == keys["relay"]
    assert creds["Anthropic"]["api_type"] == "anthropic"
    assert creds["Anthropic"]["base_url"] == "https://api.anthropic.com"
    assert creds["Myrelay"]["models"] == ["gpt-5"] and creds["Myrelay"]["api_key"] == keys["gemini"]
    assert "Orphan" not in creds


def test_dotenv_without_keys_is_refused(target: Path, tmp_path: Path) -> None:
    env = tmp_path / "empty.env"
    env.write_text("# nothing here\nDEBUG=1\nLOG_LEVEL=info\n")
    before = target.read_bytes()
    proc = run_credlib(target.parent, "import", "--from", "dotenv", str(env))
    assert proc.returncode == 3
    assert f"nothing to import from {env}" in proc.stderr and "no API keys found" in proc.stderr
    assert target.read_bytes() == before


def _cc_switch_rows(keys: dict[str, str]) -> list[tuple[str, str, str, str, str]]:
    codex_toml = (
        'model_provider = "custom"\nmodel = "gpt-5-codex"\n[model_providers.custom]\n'
        'name = "Relay"\nbase_url = "https://relay.example.com/v1"\nwire_api = "responses"\n'
    )
    return [
        (
            "relay-1",
            "claude",
            "Relay",
            json.dumps(
                {
                    "env": {
                        "ANTHROPIC_AUTH_TOKEN": keys["claude"],
                        "ANTHROPIC_BASE_URL": "https://relay.example.com",
                    }
                }
            ),
            "main",
        ),
        (
            "relay-2",
            "codex",
            "Relay",
            json.dumps({"auth": {"OPENAI_API_KEY": keys["relay"]}, "config": codex_toml}),
            "",
        ),
        ("gem-1", "gemini", "Gemini", json.dumps({"env": {"GEMINI_API_KEY": keys["gemini"]}}), ""),
        ("grok-1", "grokbuild", "Grok", "{}", ""),
    ]


def _make_db(path: Path, keys: dict[str, str]) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE providers (id TEXT, app_type TEXT, name TEXT NOT NULL, settings_config TEXT "
        "NOT NULL, website_url TEXT, category TEXT, created_at INTEGER, sort_index INTEGER, notes TEXT, "
        "icon TEXT, icon_color TEXT, meta TEXT NOT NULL DEFAULT '{}', is_current BOOLEAN, "
        "in_failover_queue BOOLEAN, PRIMARY KEY (id, app_type))"
    )
    conn.executemany(
        "INSERT INTO providers (id, app_type, name, settings_config, notes) VALUES (?,?,?,?,?)",
        _cc_switch_rows(keys),
    )
    conn.commit()
    conn.close()


@pytest.mark.parametrize("form", ["database", "sql-export"])
def test_cc_switch_import(target: Path, keys: dict[str, str], tmp_path: Path, form: str) -> None:
    db = tmp_path / "cc-switch.db"
    _make_db(db, keys)
    source = db
    if form == "sql-export":
        conn = sqlite3.connect(db)
        source = tmp_path / "cc-switch-export.sql"
        source.write_text("-- CC Switch SQLite 导出\n" + "\n".join(conn.iterdump()), encoding="utf-8")
        conn.close()
    before_db = db.read_bytes()
    proc = run_credlib(target.parent, "import", "--from", "cc-switch", str(source))
    assert proc.returncode == 0, proc.stderr
    assert "grokbuild" in proc.stderr and not _leaks(proc.stdout + proc.stderr, keys)
    creds = {c["name"]: c for c in decrypt(target)["credentials"]}
    assert creds["Relay"]["api_type"] == "anthropic" and creds["Relay"]["notes"] == "main"
    assert creds["Relay (codex)"]["api_key"] == keys["relay"]
    assert creds["Relay (codex)"]["base_url"] == "https://relay.example.com"
    assert creds["Relay (codex)"]["models"] == ["gpt-5-codex"]
    assert creds["Gemini"]["api_type"] == "google"
    assert db.read_bytes() == before_db


def test_cc_switch_sql_export_cannot_attach_files(target: Path, tmp_path: Path) -> None:
    evil = tmp_path / "evil.sql"
    written = tmp_path / "written.db"
    evil.write_text(f"-- CC Switch SQLite 导出\nATTACH DATABASE '{written}' AS x;\nCREATE TABLE x.t(a);\n")
    proc = run_credlib(target.parent, "import", "--from", "cc-switch", str(evil))
    assert proc.returncode == 3 and "does not load" in proc.stderr
    assert not written.exists()


def test_cc_switch_legacy_config_json(target: Path, keys: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "claude": {
                    "providers": {
                        "p1": {
                            "id": "p1",
                            "name": "Legacy Relay",
                            "settingsConfig": {
                                "env": {
                                    "ANTHROPIC_AUTH_TOKEN": keys["claude"],
                                    "ANTHROPIC_BASE_URL": "https://legacy.example.com",
                                }
                            },
                        }
                    },
                    "current": "p1",
                },
                "codex": {
                    "providers": {"p2": {"id": "p2", "name": "Broken", "settingsConfig": {"auth": {}}}}
                },
            }
        )
    )
    proc = run_credlib(target.parent, "import", "--from", "cc-switch", str(config))
    assert proc.returncode == 0, proc.stderr
    assert "no API key" in proc.stderr
    creds = {c["name"]: c for c in decrypt(target)["credentials"]}
    assert creds["Legacy Relay"]["api_key"] == keys["claude"] and creds["Legacy Relay"]["tags"] == ["claude"]


def test_cc_switch_garbage_is_refused(target: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_text("this is not a cc switch export")
    before = target.read_bytes()
    proc = run_credlib(target.parent, "import", "--from", "cc-switch", str(junk))
    assert proc.returncode == 3 and "not a usable CC Switch export" in proc.stderr
    assert target.read_bytes() == before


def test_import_into_missing_file_is_refused(tmp_path: Path, keys: dict[str, str]) -> None:
    backup = tmp_path / "backup.json"
    backup.write_text(json.dumps(all_api_hub_backup(keys)))
    proc = run_credlib(tmp_path, "-f", "nope.yaml", "import", "--from", "all-api-hub", str(backup))
    assert proc.returncode == 6 and "does not exist" in proc.stderr
    assert not (tmp_path / "nope.yaml").exists()
