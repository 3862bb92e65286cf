"""HTTP delivery: channel upsert by name on New API family admin APIs, and CLIProxyAPI's management
API. Every request goes through ``credlib.net.Engine``; credlib creates, updates and deletes only the
entries it created (ids and body hashes recorded in state), and a second run sends nothing."""

from __future__ import annotations

import difflib
import json
import time
from typing import TYPE_CHECKING, Any, Protocol

from credlib.errors import CredlibError
from credlib.exports import formats
from credlib.exports.merge import merge_document
from credlib.exports.redaction import redact_text
from credlib.exports.render import Rendering
from credlib.exports.targetplan import Change, TargetPlan
from credlib.redact import Scrubber
from credlib.state import State, sha256_text

if TYPE_CHECKING:
    from credlib.net import Response


class HttpEngine(Protocol):
    """The part of ``credlib.net.Engine`` deliveries use (tests may pass the real engine only)."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = ...,
        json: Any = ...,
        retry: bool = ...,
    ) -> Response: ...


# The header each New API fork wants next to the access token: the admin's numeric user id.
USER_HEADERS: dict[str, str | None] = {
    "new-api": "New-Api-User",
    "veloera": "Veloera-User",
    "one-api": None,
    "done-hub": None,
}
MAX_PAGES = 50
PAGE_SIZE = 100
# Fields a channel list shows back (the key is never shown by newer New API releases).
VISIBLE_FIELDS = ("type", "base_url", "models", "group")


class AdminError(CredlibError):
    pass


def _check(resp: Response, what: str, scrub: Scrubber) -> Any:
    """The JSON body of a successful admin API answer, or an ``AdminError`` saying what went wrong."""
    if resp.status in (401, 403):
        raise AdminError(f"{what}: the admin API refused the credentials (HTTP {resp.status})")
    if resp.status >= 400:
        raise AdminError(f"{what}: the admin API answered HTTP {resp.status}")
    ctype = resp.headers.get("content-type", "")
    if "html" in ctype or resp.text.lstrip().startswith("<"):
        raise AdminError(
            f"{what}: the admin API answered with an HTML page, not JSON "
            "(is the target url the admin API base?)"
        )
    try:
        body = resp.json()
    except ValueError:
        raise AdminError(f"{what}: the admin API answered with something that is not JSON") from None
    if isinstance(body, dict) and body.get("success") is False:
        message = scrub(str(body.get("message") or "no message"))[:300]
        raise AdminError(f"{what}: the admin API said: {message}")
    return body


def _base(url: str | None, target: str) -> str:
    if not url:
        raise AdminError(
            f"target {target!r} needs `url:` (the admin API base, e.g. https://relay.example.com)"
        )
    return url.rstrip("/")


# ---------------------------------------------------------------- New API family


def _headers(rendering: Rendering) -> dict[str, str]:
    target = rendering.target
    family = rendering.ttype.family or ""
    if not target.access_token:
        raise AdminError(f"target {target.name!r} needs `access_token:` (the admin's system access token)")
    headers = {"Authorization": f"Bearer {target.access_token}", "Accept": "application/json"}
    user_header = USER_HEADERS.get(family)
    if user_header:
        user_id = target.options.get("user_id")
        if user_id is None or not str(user_id).isdigit():
            raise AdminError(
                f"target {target.name!r}: {family} needs options.user_id (the admin's numeric user id, "
                f"sent as {user_header})"
            )
        headers[user_header] = str(user_id)
    return headers


def _items(body: Any) -> list[dict[str, Any]]:
    data = body.get("data") if isinstance(body, dict) else body
    if isinstance(data, dict):
        data = data.get("items", data.get("data", []))
    if not isinstance(data, list):
        raise AdminError("the channel list has an unexpected shape")
    return [c for c in data if isinstance(c, dict)]


async def _list_channels(
    engine: HttpEngine, base: str, family: str, headers: dict[str, str], scrub: Scrubber
) -> list[dict[str, Any]]:
    """Every channel, page by page. Forks disagree on page numbering (0- or 1-based) and some ignore
    the page size, so pages are read until one adds no channel not seen before."""
    seen: dict[Any, dict[str, Any]] = {}
    for page in range(MAX_PAGES):
        if family == "done-hub":
            query = f"page={page + 1}&size={PAGE_SIZE}"
        else:
            query = f"p={page}&page_size={PAGE_SIZE}"
        resp = await engine.request("GET", f"{base}/api/channel/?{query}", headers=headers)
        items = _items(_check(resp, "listing channels", scrub))
        fresh = [c for c in items if c.get("id") not in seen]
        for channel in fresh:
            seen[channel.get("id")] = channel
        if not items or (not fresh and page > 0):
            break
    return list(seen.values())


def _body(family: str, channel: dict[str, Any], *, create: bool) -> dict[str, Any]:
    flat = dict(channel)
    if family == "done-hub":
        flat.setdefault("model_mapping", "{}")  # DoneHub's edit form breaks on null
    if family == "new-api" and create:
        return {"mode": "single", "channel": flat}
    return flat


def _visible(channel: dict[str, Any]) -> dict[str, Any]:
    return {k: channel.get(k) for k in VISIBLE_FIELDS}


async def _plan_channels(
    plan: TargetPlan, rendering: Rendering, state: State, engine: HttpEngine, scrub: Scrubber
) -> TargetPlan:
    target, family = rendering.target, rendering.ttype.family or ""
    base = _base(target.url, target.name)
    headers = _headers(rendering)
    plan.paths.append(base + "/api/channel/")
    existing = await _list_channels(engine, base, family, headers, scrub)
    by_name: dict[str, dict[str, Any]] = {}
    for channel in existing:
        by_name.setdefault(str(channel.get("name")), channel)
    record = state.get("owned", target.name) or {}
    owned: dict[str, dict[str, Any]] = dict(record.get("channels", {})) if isinstance(record, dict) else {}
    wanted = {str(c["name"]): c for c in (rendering.document or {}).get("channels", [])}
    ops: list[dict[str, Any]] = []
    lines: list[str] = []
    for name, channel in wanted.items():
        digest = sha256_text(json.dumps(channel, sort_keys=True))
        current = by_name.get(name)
        mine = owned.get(name)
        shown = redact_text(json.dumps(_visible(channel), sort_keys=True), rendering.secrets)
        if current is None:
            ops.append({"op": "create", "name": name, "channel": channel, "hash": digest})
            plan.changes.append(Change("+", f"channel {name}", f"type {channel.get('type')}"))
            lines.append(f"+ channel {name!r} {shown}")
            continue
        hand_edited = bool(
            mine
            and mine.get("visible")
            and mine["visible"] != sha256_text(json.dumps(_visible(current), sort_keys=True, default=str))
        )
        if mine and mine.get("hash") == digest and mine.get("id") == current.get("id") and not hand_edited:
            continue
        ops.append(
            {"op": "update", "name": name, "channel": channel, "hash": digest, "id": current.get("id")}
        )
        changed = sorted(k for k in VISIBLE_FIELDS if current.get(k) != channel.get(k)) or ["key or settings"]
        plan.changes.append(Change("~", f"channel {name}", "changed: " + ", ".join(changed)))
        lines.append(f"~ channel {name!r} {shown}")
        plan.drift = plan.drift or hand_edited
    for name, mine in owned.items():
        if name in wanted:
            continue
        current = by_name.get(name)
        if current is None or (mine.get("id") is not None and current.get("id") != mine.get("id")):
            continue  # gone already, or a channel credlib did not create under that name
        ops.append({"op": "delete", "name": name, "id": current.get("id")})
        plan.changes.append(Change("-", f"channel {name}", "removed"))
        lines.append(f"- channel {name!r}")
    plan.diff = "".join(line + "\n" for line in lines)
    plan.private.update(
        {
            "kind": "channels",
            "base": base,
            "family": family,
            "ops": ops,
            "owned": owned,
            "wanted": sorted(wanted),
        }
    )
    plan.action = _action(plan)
    return plan


async def _send_op(
    engine: HttpEngine,
    base: str,
    family: str,
    op: dict[str, Any],
    owned: dict[str, dict[str, Any]],
    headers: dict[str, str],
    scrub: Scrubber,
) -> None:
    name = op["name"]
    if op["op"] == "create":
        # Not retried: a create whose answer was lost may have happened; the next run adopts it by name.
        resp = await engine.request(
            "POST",
            f"{base}/api/channel/",
            headers=headers,
            json=_body(family, op["channel"], create=True),
            retry=False,
        )
        _check(resp, f"creating channel {name!r}", scrub)
        owned[name] = {"hash": op["hash"]}
    elif op["op"] == "update":
        body = _body(family, {**op["channel"], "id": op["id"]}, create=False)
        resp = await engine.request("PUT", f"{base}/api/channel/", headers=headers, json=body)
        _check(resp, f"updating channel {name!r}", scrub)
        owned[name] = {"hash": op["hash"], "id": op["id"]}
    else:
        resp = await engine.request("DELETE", f"{base}/api/channel/{op['id']}", headers=headers)
        _check(resp, f"deleting channel {name!r}", scrub)
        owned.pop(name, None)


async def _apply_channels(
    plan: TargetPlan, rendering_headers: dict[str, str], state: State, engine: HttpEngine, scrub: Scrubber
) -> TargetPlan:
    priv = plan.private
    base, family = priv["base"], priv["family"]
    owned: dict[str, dict[str, Any]] = priv["owned"]
    try:
        for op in priv["ops"]:
            await _send_op(engine, base, family, op, owned, rendering_headers, scrub)
    except CredlibError:
        # What was done is done: remember it, so the next run neither repeats nor forgets it.
        state.record("owned", plan.name, {"channels": owned})
        raise
    # Creation answers carry no id on every fork: read the ids (and what the list shows) back.
    listed = await _list_channels(engine, base, family, rendering_headers, scrub)
    by_name = {str(c.get("name")): c for c in reversed(listed)}
    for name in list(owned):
        current = by_name.get(name)
        if current is None:
            owned.pop(name)
            continue
        owned[name]["id"] = current.get("id")
        owned[name]["visible"] = sha256_text(json.dumps(_visible(current), sort_keys=True, default=str))
    state.record("owned", plan.name, {"channels": owned})
    state.record(
        "targets",
        plan.name,
        {
            "hash": sha256_text(json.dumps(owned, sort_keys=True)),
            "type": plan.type,
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    return plan


# ---------------------------------------------------------------- CLIProxyAPI management API


def _mgmt_base(url: str | None, target: str) -> str:
    base = _base(url, target)
    return base if base.endswith("/v0/management") else base + "/v0/management"


def _mgmt_headers(rendering: Rendering) -> dict[str, str]:
    key = rendering.target.management_key
    if not key:
        raise AdminError(
            f"target {rendering.target.name!r} needs `management_key:` (remote-management secret-key)"
        )
    return {"Authorization": f"Bearer {key}", "Accept": "application/json"}


async def _plan_cliproxy(
    plan: TargetPlan, rendering: Rendering, state: State, engine: HttpEngine, scrub: Scrubber
) -> TargetPlan:
    target = rendering.target
    base = _mgmt_base(target.url, target.name)
    headers = _mgmt_headers(rendering)
    plan.paths.append(base)
    current: dict[str, Any] = {}
    for rule in rendering.ttype.merge:
        current[rule.id] = await _read_list(engine, base, rule.id, headers, scrub)
    before = json.loads(json.dumps(current))
    record = state.get("owned", target.name) or {}
    owned_before = record.get("lists") if isinstance(record, dict) else None
    result = merge_document(current, rendering.document or {}, rendering.ttype.merge, owned_before, "json")
    plan.changes.extend(result.changes)
    recorded = (state.get("targets", target.name) or {}).get("lists", {})
    puts = {}
    for name, entries in result.document.items():
        if entries != before.get(name, []):
            puts[name] = entries
            if recorded.get(name) and recorded[name] != sha256_text(
                json.dumps(before.get(name), sort_keys=True)
            ):
                plan.drift = True
    old_text, new_text = formats.dump("json", before), formats.dump("json", result.document)
    plan.diff = redact_text(
        "".join(difflib.unified_diff(old_text.splitlines(True), new_text.splitlines(True), base, base)),
        rendering.secrets,
    )
    plan.private.update(
        {
            "kind": "cliproxy",
            "base": base,
            "puts": puts,
            "owned": result.owned,
            "lists": {k: sha256_text(json.dumps(v, sort_keys=True)) for k, v in result.document.items()},
        }
    )
    plan.action = _action(plan)
    return plan


async def _read_list(
    engine: HttpEngine, base: str, name: str, headers: dict[str, str], scrub: Scrubber
) -> list[Any]:
    resp = await engine.request("GET", f"{base}/{name}", headers=headers)
    body = _check(resp, f"reading {name}", scrub)
    entries = body.get(name, []) if isinstance(body, dict) else body
    return list(entries or []) if isinstance(entries, list) else []


async def _apply_cliproxy(
    plan: TargetPlan, headers: dict[str, str], state: State, engine: HttpEngine, scrub: Scrubber
) -> TargetPlan:
    priv = plan.private
    lists: dict[str, str] = dict(priv["lists"])
    for name, entries in priv["puts"].items():
        resp = await engine.request("PUT", f"{priv['base']}/{name}", headers=headers, json=entries)
        _check(resp, f"writing {name}", scrub)
        # Record the list as the proxy keeps it (it sanitises what it is given), so the next plan
        # does not mistake the proxy's own normalisation for a hand edit.
        kept = await _read_list(engine, priv["base"], name, headers, scrub)
        lists[name] = sha256_text(json.dumps(kept, sort_keys=True))
    state.record("owned", plan.name, {"lists": priv["owned"]})
    state.record(
        "targets",
        plan.name,
        {
            "hash": sha256_text(json.dumps(lists, sort_keys=True)),
            "lists": lists,
            "type": plan.type,
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    return plan


# ---------------------------------------------------------------- entry points


def _action(plan: TargetPlan) -> Any:
    ops = {c.op for c in plan.changes}
    if not ops:
        return "noop"
    if plan.drift:
        return "drift"
    if ops == {"+"}:
        return "create"
    if ops == {"-"}:
        return "delete"
    return "update"


async def plan_http(
    plan: TargetPlan, rendering: Rendering, state: State, engine: HttpEngine | None
) -> TargetPlan:
    if engine is None:
        plan.notes.append("not checked: an HTTP target needs the network (run without --offline)")
        plan.action = "noop"
        return plan
    scrub = Scrubber(rendering.secrets)
    plan.private["secrets"] = rendering.secrets
    if rendering.ttype.family == "cliproxyapi":
        plan.private["headers"] = _mgmt_headers(rendering)
        return await _plan_cliproxy(plan, rendering, state, engine, scrub)
    plan.private["headers"] = _headers(rendering)
    return await _plan_channels(plan, rendering, state, engine, scrub)


async def apply_http(plan: TargetPlan, state: State, engine: HttpEngine | None) -> TargetPlan:
    if plan.action == "noop" or not plan.private.get("kind"):
        plan.outcome = "unchanged"
        plan.private = {}
        return plan
    if engine is None:
        plan.fail(f"target {plan.name!r}: an HTTP target needs the network")
        plan.outcome = "failed"
        return plan
    scrub = Scrubber(plan.private.get("secrets", []))
    headers = plan.private["headers"]
    try:
        if plan.private["kind"] == "cliproxy":
            await _apply_cliproxy(plan, headers, state, engine, scrub)
        else:
            await _apply_channels(plan, headers, state, engine, scrub)
    except CredlibError as exc:
        plan.fail(f"target {plan.name!r}: {scrub(exc.message)}")
        plan.outcome = "failed"
        return plan
    plan.outcome = f"{len(plan.changes)} change{'s' if len(plan.changes) != 1 else ''} sent"
    plan.private = {}
    return plan
