"""`credlib usage`: table, JSON, thresholds, per-machine state and load-time validation, end to end
(real sops-encrypted file, real relay over HTTP)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from credlib.model import METRIC_NAMES
from credlib.relay.keys import UsageWindow
from tests.fixtures.env import fake_key
from tests.fixtures.telemetry import TelemetrySite

EncryptedFile = Callable[..., Path]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from credlib.cli import cli as group
    from credlib.cli.errors import run_cli

    code = run_cli(group, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(site: TelemetrySite, encrypted_file: EncryptedFile) -> dict[str, Any]:
    """Four credentials on one relay: New API ($7.50, expiring in 5 days), Sub2API wallet ($42),
    a key the relay rejects, and one with telemetry disabled."""
    keys = {"newapi": fake_key(), "sub2api": fake_key(), "revoked": fake_key(), "quiet": fake_key()}
    soon = int(time.time()) + 5 * 86400
    site.relay.add_key(keys["newapi"], flavor="newapi", quota=7.5, used=2.5, expires_at=soon)
    site.relay.add_key(
        keys["sub2api"],
        flavor="sub2api",
        sub2api_mode="wallet",
        quota=42.0,
        today=UsageWindow(requests=3, cost=1.5, actual_cost=1.25),
    )
    site.relay.add_key(keys["revoked"], flavor="sub2api", disabled=True)
    data = {
        "version": 1,
        # Roomier than the default 18/min, so the run does not wait for token refills.
        "defaults": {"limits": {"concurrency": 4, "burst": 20, "per_minute": 600}},
        "credentials": [
            {"name": "Company Relay", "base_url": site.url, "api_key": keys["newapi"]},
            {
                "name": "Sub Wallet",
                "base_url": site.url + "/v1",
                "api_key": keys["sub2api"],
                "telemetry": {"method": "sub2api"},
            },
            {
                "name": "Revoked",
                "base_url": site.url,
                "api_key": keys["revoked"],
                "telemetry": {"method": "sub2api"},
            },
            {
                "name": "Quiet",
                "base_url": site.url,
                "api_key": keys["quiet"],
                "telemetry": {"method": "disabled"},
            },
        ],
    }
    path = encrypted_file(data)
    return {"path": path, "keys": keys, "site": site}


def assert_no_key(keys: dict[str, str], *texts: str) -> None:
    for text in texts:
        for key in keys.values():
            assert key not in text
            assert key[3:20] not in text


def test_table_with_totals_and_marked_rows(
    project: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "-f", str(project["path"]), "usage")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["name", "health", "balance", "today"]
    row = {
        name: next(line for line in lines if name in line)
        for name in ("Company Relay", "Sub Wallet", "Revoked", "Quiet", "TOTAL")
    }
    # Expiring within the default 7 days: a warning row, with the reason in the note column.
    assert "$7.50" in row["Company Relay"] and row["Company Relay"].startswith("!")
    assert "warning" in row["Company Relay"] and "expires in" in row["Company Relay"]
    assert "$42.00" in row["Sub Wallet"] and "$1.25" in row["Sub Wallet"] and "healthy" in row["Sub Wallet"]
    assert row["Revoked"].startswith("✗") and "error" in row["Revoked"] and "HTTP 401" in row["Revoked"]
    assert row["Quiet"].startswith("?") and "unknown" in row["Quiet"]
    assert "$49.50" in row["TOTAL"] and "$1.25" in row["TOTAL"]
    assert_no_key(project["keys"], out, err)


def test_json_shape(project: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "-f", str(project["path"]), "usage", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["format_version"] == 1
    by_name = {r["name"]: r for r in doc["results"]}
    assert list(by_name) == ["Company Relay", "Sub Wallet", "Revoked", "Quiet"]
    company = by_name["Company Relay"]
    assert (
        company["balance"] == 7.5 and company["total_granted"] == 10.0 and company["method_used"] == "newapi"
    )
    for metric in (*METRIC_NAMES, "health", "refreshed_at", "error", "attempts"):
        assert metric in company
    assert {"method", "endpoint", "outcome", "status", "latency_ms"} <= set(company["attempts"][0])
    assert by_name["Quiet"]["balance"] is None and by_name["Quiet"]["attempts"] == []
    assert by_name["Revoked"]["health"] == "error"
    assert by_name["Sub Wallet"]["attempts"][0]["endpoint"].endswith("/v1/usage")  # /v1 stripped, re-added
    assert doc["totals"] == {"balance": 49.5, "today_cost": 1.25}
    assert doc["alerts"] == []
    assert_no_key(project["keys"], out, err)


def test_selected_names_only(project: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "-f", str(project["path"]), "usage", "sub wallet", "--json")
    assert code == 0
    assert [r["name"] for r in json.loads(out)["results"]] == ["Sub Wallet"]
    assert project["site"].paths() == ["/v1/usage"]


def test_unknown_name_is_not_found(project: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "-f", str(project["path"]), "usage", "Nope")
    assert code == 8 and "Nope" in err and "Traceback" not in err
    assert project["site"].paths() == []


def test_fail_under_balance_names_the_credentials(
    project: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "-f", str(project["path"]), "usage", "--fail-under-balance", "10")
    assert code == 1
    alerts = [line for line in err.splitlines() if line.startswith("alert:")]
    assert any("Company Relay" in a and "below $10.00" in a for a in alerts)
    assert any("Revoked" in a and "telemetry failed" in a for a in alerts)
    assert not any("Sub Wallet" in a or "Quiet" in a for a in alerts)
    assert_no_key(project["keys"], out, err)


def test_fail_under_balance_passes_when_all_are_above(
    project: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys,
        "-f",
        str(project["path"]),
        "usage",
        "Sub Wallet",
        "Company Relay",
        "--fail-under-balance",
        "5",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["alerts"] == []


def test_fail_expiring_within_days(project: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = cli(
        capsys,
        "-f",
        str(project["path"]),
        "usage",
        "Company Relay",
        "Sub Wallet",
        "--fail-expiring-within",
        "30",
        "--json",
    )
    assert code == 1
    alerts = json.loads(out)["alerts"]
    assert [a["name"] for a in alerts] == ["Company Relay"]
    assert "expires in" in alerts[0]["reason"]
    code, _, _ = cli(
        capsys, "-f", str(project["path"]), "usage", "Company Relay", "--fail-expiring-within", "3"
    )
    assert code == 0


def test_results_are_recorded_in_state_without_secrets(
    project: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from credlib.state import State, state_path_for

    code, _, _ = cli(capsys, "-f", str(project["path"]), "usage")
    assert code == 0
    state = State.load(project["path"])
    record = state.get("telemetry", "company-relay")
    assert record["balance"] == 7.5 and record["health"] in ("healthy", "warning")
    assert record["refreshed_at"] and record["attempts"]
    assert state.get("telemetry", "revoked")["health"] == "error"
    # disabled: no request, but still a record (All API Hub writes a snapshot for it too)
    quiet = state.get("telemetry", "quiet")
    assert quiet["health"] == "unknown" and quiet["attempts"] == [] and quiet["refreshed_at"]
    raw = state_path_for(project["path"]).read_text()
    assert_no_key(project["keys"], raw)


def test_negative_threshold_is_a_usage_error(
    project: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "-f", str(project["path"]), "usage", "--fail-under-balance", "-1")
    assert code == 64 and "Traceback" not in err


@pytest.mark.parametrize(
    ("telemetry", "field", "fragment"),
    [
        (
            {"method": "custom", "endpoint": "https://elsewhere.example.com/u", "mapping": {"balance": "b"}},
            "credentials[0].telemetry.endpoint",
            "origin",
        ),
        (
            # A dedicated token does not make another origin acceptable (All API Hub allows it; SPEC §1 not).
            {
                "method": "custom",
                "endpoint": "https://elsewhere.example.com/u",
                "bearer_token": "tok-" + "x" * 24,
                "mapping": {"balance": "b"},
            },
            "credentials[0].telemetry.endpoint",
            "origin",
        ),
        (
            {"method": "custom", "endpoint": "//elsewhere.example.com/u", "mapping": {"balance": "b"}},
            "credentials[0].telemetry.endpoint",
            "//host",
        ),
        (
            {"method": "custom", "endpoint": "/u", "mapping": {}},
            "credentials[0].telemetry.mapping",
            "at least one",
        ),
        (
            {"method": "custom", "endpoint": "/u", "mapping": {"balance": "$.data["}},
            "credentials[0].telemetry.mapping.balance",
            "does not parse",
        ),
    ],
)
def test_bad_custom_telemetry_is_rejected_at_load(
    site: TelemetrySite,
    encrypted_file: EncryptedFile,
    capsys: pytest.CaptureFixture[str],
    telemetry: dict[str, Any],
    field: str,
    fragment: str,
) -> None:
    path = encrypted_file(
        {
            "version": 1,
            "credentials": [
                {"name": "C", "base_url": site.url, "api_key": fake_key(), "telemetry": telemetry}
            ],
        }
    )
    code, _out, err = cli(capsys, "-f", str(path), "usage")
    assert code == 3, err
    assert field in err and fragment in err
    # file, line and field path on one line
    assert re.search(rf"{re.escape(path.name)}:\d+: {re.escape(field)}: .*{re.escape(fragment)}", err), err
    assert "Traceback" not in err and "x" * 24 not in err  # nor the dedicated token
    assert site.relay.log == []  # rejected before any request


def test_status_shows_the_last_usage_refresh_without_a_request(
    project: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "-f", str(project["path"]), "usage", "--json")
    assert code == 0
    refreshed = {r["name"]: r["refreshed_at"] for r in json.loads(out)["results"]}
    project["site"].relay.clear_log()
    code, out, err = cli(capsys, "-f", str(project["path"]), "status", "--json")
    assert code == 0, err
    assert project["site"].relay.log == []  # status reads state only
    by_name = {r["name"]: r for r in json.loads(out)["results"]}
    company = by_name["Company Relay"]
    assert company["balance"] == 7.5 and company["health"] == "warning"
    assert company["refreshed_at"] == refreshed["Company Relay"]
    assert by_name["Revoked"]["health"] == "error"
    assert_no_key(project["keys"], out, err)
