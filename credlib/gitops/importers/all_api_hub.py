"""All API Hub backup JSON -> candidates (research all-api-hub.md §1, §9, §10).

Reads the ``apiCredentialProfiles`` section of a full backup (``{version: "4.0", tagStore,
apiCredentialProfiles: {version: 5, profiles: [...]}}``) — or a bare profiles container — resolves
tag ids through the backup's tag store, keeps notes and expiry, and maps the telemetry config to
credlib's methods. Cross-origin custom endpoints (allowed by All API Hub, not by credlib) are
reported and their telemetry left at the default.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from credlib.errors import Problem, ValidationError
from credlib.gitops.importers.common import Candidate
from credlib.model import API_TYPES

MAX_PROFILES_VERSION = 5
_MODES = {
    "disabled": "disabled",
    "auto": "auto",
    "openaiBilling": "openai-billing",
    "newApiTokenUsage": "newapi",
    "sub2apiUsage": "sub2api",
    "customReadOnlyEndpoint": "custom",
}
_METRICS = {
    "balanceUsd": "balance",
    "todayCostUsd": "today_cost",
    "todayRequests": "today_requests",
    "todayPromptTokens": "today_prompt_tokens",
    "todayCompletionTokens": "today_completion_tokens",
    "todayTotalTokens": "today_total_tokens",
    "totalUsedUsd": "total_used",
    "totalGrantedUsd": "total_granted",
    "totalAvailableUsd": "total_available",
    "expiresAt": "expires_at",
}


def _fail(file: str, message: str, path: str = "", line: int | None = None) -> ValidationError:
    return ValidationError(
        [Problem(message=message, path=path, file=file, line=line)],
        summary=f"{file} is not a usable All API Hub backup",
    )


def _tag_names(backup: dict[str, Any]) -> dict[str, str]:
    store = backup.get("tagStore")
    tags = store.get("tagsById") if isinstance(store, dict) else None
    out: dict[str, str] = {}
    if isinstance(tags, dict):
        for tag_id, tag in tags.items():
            if isinstance(tag, dict) and isinstance(tag.get("name"), str) and tag["name"].strip():
                out[str(tag_id)] = " ".join(tag["name"].split())
    return out


def _expiry(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        # All API Hub stores the local midnight of the picked day, in ms.
        return dt.datetime.fromtimestamp(value / 1000).date().isoformat()
    return None


def _telemetry(
    profile: dict[str, Any], base_url: str, label: str, warnings: list[str]
) -> dict[str, Any] | None:
    from credlib.urls import is_absolute_http, same_origin

    config = profile.get("telemetryConfig")
    if not isinstance(config, dict):
        return None
    method = _MODES.get(str(config.get("mode", "auto")), "auto")
    if method == "auto":
        return None
    if method != "custom":
        return {"method": method}
    custom = config.get("customEndpoint")
    endpoint = custom.get("endpoint") if isinstance(custom, dict) else None
    paths = custom.get("jsonPaths") if isinstance(custom, dict) else None
    mapping = {
        _METRICS[k]: str(v).strip()
        for k, v in (paths.items() if isinstance(paths, dict) else [])
        if k in _METRICS and isinstance(v, str) and v.strip()
    }
    if not isinstance(endpoint, str) or not endpoint.strip() or not mapping:
        warnings.append(f"{label}: custom telemetry has no endpoint or mapping; left at the default (auto)")
        return None
    endpoint = endpoint.strip()
    if is_absolute_http(endpoint) and not same_origin(endpoint, base_url):
        warnings.append(
            f"{label}: custom telemetry endpoint is on another origin, which credlib does not "
            "allow (the key would go to another site); left at the default (auto)"
        )
        return None
    out: dict[str, Any] = {"method": "custom", "endpoint": endpoint, "mapping": mapping}
    token = custom.get("bearerToken") if isinstance(custom, dict) else None
    if isinstance(token, str) and token.strip():
        out["bearer_token"] = token.strip()
    return out


def parse_backup(text: str, file: str) -> tuple[list[Candidate], list[str]]:
    try:
        backup = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(file, f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    if not isinstance(backup, dict):
        raise _fail(file, "the top level must be a JSON object")
    section = backup.get("apiCredentialProfiles", backup if "profiles" in backup else None)
    if not isinstance(section, dict):
        raise _fail(
            file,
            "no `apiCredentialProfiles` section (export a full backup from All API Hub)",
            path="apiCredentialProfiles",
        )
    version = section.get("version")
    if isinstance(version, int | float) and version > MAX_PROFILES_VERSION:
        raise _fail(
            file,
            f"profiles format version {version} is newer than this credlib understands "
            f"({MAX_PROFILES_VERSION})",
            path="apiCredentialProfiles.version",
        )
    profiles = section.get("profiles")
    if not isinstance(profiles, list):
        raise _fail(file, "`profiles` must be a list", path="apiCredentialProfiles.profiles")
    tag_names = _tag_names(backup)
    warnings: list[str] = []
    out: list[Candidate] = []
    for index, profile in enumerate(profiles):
        label = f"profile {index + 1}"
        if not isinstance(profile, dict):
            warnings.append(f"{label}: not an object; skipped")
            continue
        api_type = profile.get("apiType")
        api_type = api_type if api_type in API_TYPES else "openai-compatible"
        base_url = str(profile.get("baseUrl") or "").strip()
        name = str(profile.get("name") or "").strip() or base_url or "API Profile"
        tags: list[str] = []
        for tag_id in profile.get("tagIds") or []:
            if str(tag_id) in tag_names:
                tags.append(tag_names[str(tag_id)])
            else:
                warnings.append(f"{label} ({name}): unknown tag id {tag_id!r} dropped")
        item: dict[str, Any] = {
            "name": name,
            "base_url": base_url,
            "api_key": str(profile.get("apiKey") or "").strip(),
            "api_type": api_type,
            "tags": list(dict.fromkeys(tags)),
            "notes": str(profile.get("notes") or "").strip(),
            "expires_at": _expiry(profile.get("expiresAt")),
        }
        telemetry = _telemetry(profile, base_url, f"{label} ({name})", warnings)
        if telemetry:
            item["telemetry"] = telemetry
        updated = profile.get("updatedAt")
        updated_at = (
            float(updated) if isinstance(updated, int | float) and not isinstance(updated, bool) else 0.0
        )
        out.append(Candidate(item=item, source=f"{label} ({name})", updated_at=updated_at))
    return out, warnings
