"""Custom read-only endpoints: resolution, auth, mapping and per-metric reports, over real HTTP."""

from __future__ import annotations

import pytest

from credlib.relay.wire import RelayRequest, RelayResponse
from credlib.telemetry.custom import check_custom_config, resolve_endpoint
from tests.fixtures.telemetry import TelemetrySite, read


def test_total_only_mapping_with_seconds_expiry(site: TelemetrySite) -> None:
    site.json("/api/usage", {"data": {"total": {"used": 3.5}, "expires": 1_893_456_000}})
    res = read(
        site.cred(
            "custom",
            endpoint="/api/usage",
            mapping={"total_used": "data.total.used", "expires_at": "data.expires"},
        )
    )
    assert res.health == "healthy" and res.method_used == "custom"
    assert res.metrics.total_used == 3.5
    assert res.metrics.expires_at == "2030-01-01T00:00:00Z"
    assert res.metrics.balance is None  # not mapped, not invented


def test_root_relative_endpoint_resolves_against_the_origin(site: TelemetrySite) -> None:
    site.json("/api/telemetry/usage", {"balance": "12.50"})
    cred = site.cred(
        "custom", base_path="/api/agents", endpoint="/api/telemetry/usage", mapping={"balance": "balance"}
    )
    res = read(cred)
    assert res.metrics.balance == 12.5  # numeric string accepted
    assert site.paths() == ["/api/telemetry/usage"]  # the base path /api/agents is not kept
    assert res.attempts[0].endpoint == site.url + "/api/telemetry/usage"


def test_absolute_same_origin_endpoint_and_query_redaction(site: TelemetrySite) -> None:
    site.json("/stats", {"x": {"items": [{"cost": 0.25}, {"cost": 2}]}})
    cred = site.cred(
        "custom",
        endpoint=site.url + "/stats?user=alice&token=abc123secret",
        mapping={"today_cost": "x.items.0.cost", "total_used": "$.x.items[1].cost"},
    )
    res = read(cred)
    assert (res.metrics.today_cost, res.metrics.total_used) == (0.25, 2.0)
    req = site.relay.log[0]
    assert req.query == {"user": "alice", "token": "abc123secret"}  # the site gets the query
    assert res.attempts[0].endpoint == site.url + "/stats?user=[REDACTED]&token=[REDACTED]"
    assert "abc123secret" not in str(res.to_json()) and "alice" not in str(res.to_json())


def test_dedicated_bearer_token_is_sent_instead_of_the_key(site: TelemetrySite) -> None:
    seen: list[str] = []

    def answer(req: RelayRequest) -> RelayResponse:
        seen.append(req.headers.get("authorization", ""))
        return RelayResponse.json({"b": 1})

    site.handler("/dash", answer, public=True)
    read(site.cred("custom", endpoint="/dash", mapping={"balance": "b"}, bearer_token="dash-token-123456789"))
    assert seen == ["Bearer dash-token-123456789"]


def test_timestamps_and_flags_in_every_accepted_form(site: TelemetrySite) -> None:
    site.json("/u", {"ms": 1_893_456_000_000, "iso": "2030-01-01T08:00:00+08:00", "unl": "true", "req": "42"})
    res = read(
        site.cred(
            "custom",
            endpoint="/u",
            mapping={"expires_at": "iso", "unlimited": "unl", "today_requests": "req"},
        )
    )
    assert res.metrics.expires_at == "2030-01-01T00:00:00Z"
    assert res.metrics.unlimited is True and res.metrics.today_requests == 42
    site.relay.clear_log()
    res = read(site.cred("custom", endpoint="/u", mapping={"expires_at": "ms"}))
    assert res.metrics.expires_at == "2030-01-01T00:00:00Z"


def test_paths_that_match_nothing_are_reported_per_metric(site: TelemetrySite) -> None:
    site.json("/u", {"data": {"balance": 4}})
    res = read(
        site.cred(
            "custom", endpoint="/u", mapping={"balance": "data.balance", "today_cost": "data.today.cost"}
        )
    )
    assert res.metrics.balance == 4.0 and res.metrics.today_cost is None
    assert res.health == "warning"
    assert res.warnings == ["today_cost: path data.today.cost not found"]
    assert "today_cost: path data.today.cost not found" in (res.error or "")


def test_no_path_matching_is_an_error(site: TelemetrySite) -> None:
    site.json("/u", {"data": {}})
    res = read(
        site.cred(
            "custom", endpoint="/u", mapping={"balance": "data.balance", "today_cost": "$.data.today.cost"}
        )
    )
    assert res.health == "error"
    assert "balance: path data.balance not found" in (res.error or "")
    assert "today_cost: path $.data.today.cost not found" in (res.error or "")


def test_jsonpath_matching_several_values_is_an_error(site: TelemetrySite) -> None:
    site.json("/u", {"items": [{"c": 1}, {"c": 2}]})
    res = read(site.cred("custom", endpoint="/u", mapping={"today_cost": "$.items[*].c"}))
    assert res.health == "error" and "matched 2 values" in (res.error or "")


@pytest.mark.parametrize(
    ("endpoint", "fragment"),
    [
        ("https://evil.example.com/usage", "differs from the base URL's origin"),
        ("//evil.example.com/usage", "protocol-relative"),
        ("api/usage", "must be a path starting with '/'"),
        ("ftp://relay.example.com/x", "must be a path starting with '/'"),
        ("", "needs an endpoint"),
    ],
)
def test_bad_endpoints_are_rejected(endpoint: str, fragment: str) -> None:
    problems = check_custom_config(endpoint, {"balance": "data.balance"}, "https://relay.example.com/api")
    assert [p for p, _ in problems] == ["endpoint"]
    assert fragment in problems[0][1]


def test_resolve_endpoint_keeps_query_and_drops_base_path() -> None:
    assert (
        resolve_endpoint("/api/x?a=1", "https://h.example:8443/api/agents")
        == "https://h.example:8443/api/x?a=1"
    )
    assert (
        resolve_endpoint("https://H.example:8443/q", "https://h.example:8443/p") == "https://h.example:8443/q"
    )


@pytest.mark.parametrize(
    ("mapping", "where", "fragment"),
    [
        ({}, "mapping", "at least one metric"),
        ({"balance": "$.data["}, "mapping.balance", "does not parse"),
        ({"balance": "data..x"}, "mapping.balance", "empty segment"),
        ({"wallet": "data.x"}, "mapping.wallet", "unknown metric"),
    ],
)
def test_bad_mappings_are_rejected(mapping: dict[str, str], where: str, fragment: str) -> None:
    problems = check_custom_config("/u", mapping, "https://relay.example.com")
    assert problems and problems[0][0] == where and fragment in problems[0][1]


def readme_examples() -> list[tuple[object, dict[str, str]]]:
    """(JSON answer, mapping) of each worked example in README's telemetry section, as written there."""
    import json
    import re
    from pathlib import Path

    from ruamel.yaml import YAML

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section: telemetry -->")[1].split("<!-- /section: telemetry -->")[0]
    examples = []
    for part in re.split(r"\*\*Example \d+:", section)[1:]:
        answer = re.search(r"```json\n(.*?)```", part, re.S)
        config = re.search(r"```yaml\n(.*?)```", part, re.S)
        assert answer and config, part[:200]
        telemetry = YAML(typ="safe").load(config.group(1))["telemetry"]
        assert telemetry["method"] == "custom"
        assert (
            check_custom_config(telemetry["endpoint"], telemetry["mapping"], "https://relay.example.com")
            == []
        )
        examples.append((json.loads(answer.group(1)), dict(telemetry["mapping"])))
    return examples


def test_readme_examples_work() -> None:
    """The two worked examples of README's telemetry section, read from the README itself."""
    from credlib.telemetry.custom import apply_mapping

    (first, first_mapping), (second, second_mapping) = readme_examples()
    reading = apply_mapping(first, first_mapping)
    m = reading.metrics
    assert (m.balance, m.today_cost, m.today_requests, m.expires_at) == (
        12.5,
        0.42,
        17,
        "2027-01-01T00:00:00Z",
    )
    assert reading.warnings == []

    reading = apply_mapping(second, second_mapping)
    m = reading.metrics
    assert (m.total_granted, m.total_used, m.balance, m.today_cost) == (100.0, 37.5, 62.5, 1.2)
    assert m.expires_at == "2027-03-31T15:59:59Z"
    assert reading.warnings == []
