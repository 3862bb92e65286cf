"""Human text and JSON (SPEC §3) for plan, apply and the verification that precedes them.

Everything here works on already-redacted data: the exports layer redacts its diffs and change
summaries, verify/telemetry results are redacted dicts. Nothing in this module sees a key.
"""

from __future__ import annotations

from typing import Any

from credlib.exports.targetplan import Change
from credlib.reconcile.observe import Observations
from credlib.reconcile.plan import ReconcilePlan, TargetOutcome

FORMAT_VERSION = 1
NO_CHANGES = "No changes. Your targets match the credentials file."
VERBS = {"create": "created", "update": "updated", "delete": "deleted"}


def where(outcome: TargetOutcome) -> str:
    t = outcome.target
    if t.path:
        # A relative path is relative to the credentials file, not to the cwd: show where it resolved.
        if not t.path.startswith(("~", "/")) and outcome.delivery is not None and outcome.delivery.paths:
            return outcome.delivery.paths[0]
        return t.path
    if t.url:
        return t.url
    from credlib.errors import CredlibError
    from credlib.exports.registry import resolve_type

    try:
        return "deep link" if resolve_type(t).delivery == "deeplink" else "no path or url"
    except CredlibError:  # unknown type or mode: its own error says so
        return "no path or url"


def verification_line(obs: Observations, total: int) -> str:
    if total == 0:
        return "No credentials in the file."
    if obs.offline:
        known = list(obs.verdicts.values())
        if not known:
            return "Verification skipped (--offline); no earlier result on this machine, so none is left out."
        text = "Verification skipped (--offline); using the last result on this machine"
        text += f" for {len(known)} of {total}."
        failing = [v for v in known if v.failing]
        if failing:
            text += " Failing: " + ", ".join(f"{v.name} ({v.status})" for v in failing) + "."
        return text
    ok = sum(1 for v in obs.verdicts.values() if v.ok)
    failing = obs.failing()
    text = f"Verified {total} credential{'s' if total != 1 else ''}: {ok} ok"
    if failing:
        text += f", {len(failing)} failed (" + ", ".join(f"{v.name}: {v.status}" for v in failing) + ")"
    return text + "."


def change_line(change: Change) -> str:
    text = f"{change.op} {change.key}"
    if change.summary and change.summary != change.key:
        text += f"  ({change.summary})"
    return text


def heading(outcome: TargetOutcome) -> str:
    t = outcome.target
    label = f'{t.type} "{t.name}" ({where(outcome)})'
    action = outcome.action
    if outcome.skipped:
        return f"  # {label} skipped: {outcome.skipped}"
    if action == "error":
        return f"  # {label} cannot be planned"
    if outcome.drift:
        return f"  # {label} was changed by hand since the last apply (drift); apply needs --force"
    phrases = {
        "create": "will be created",
        "update": "will be updated in place",
        "delete": "will be emptied of credlib's entries",
        "noop": "is up to date",
    }
    return f"  # {label} {phrases.get(action, action)}"


def target_lines(outcome: TargetOutcome, *, show_diff: bool = True) -> list[str]:
    lines = [heading(outcome)]
    if outcome.error is not None:
        lines.append(f"      error: {outcome.error}")
    for change in outcome.changes():
        lines.append("      " + change_line(change))
    for note in outcome.notes():
        lines.append(f"      note: {note}")
    for verdict in outcome.excluded:
        lines.append(
            f"      left out: {verdict.name} (verification {verdict.status}; include_failing keeps it)"
        )
    for cred, why in outcome.unsupported:
        lines.append(f"      left out: {cred.name} ({outcome.target.type} needs the Responses API; {why})")
    for cred, why in outcome.unchecked:
        lines.append(f"      kept: {cred.name} ({why})")
    # A deep-link "diff" repeats the change lines; files and HTTP documents have a real one.
    deeplink = outcome.delivery is not None and outcome.delivery.delivery == "deeplink"
    diff = outcome.diff() if show_diff and outcome.pending and not deeplink else ""
    if diff:
        lines.extend("      " + line if line else "" for line in diff.rstrip("\n").split("\n"))
    return lines


def summary_line(plan: ReconcilePlan) -> str:
    if not plan.changes_pending and not plan.failed:
        return NO_CHANGES
    create, update, delete = (plan.count(a) for a in ("create", "update", "delete"))
    drift = sum(1 for t in plan.targets if t.drift)
    text = f"Plan: {create} to create, {update} to update, {delete} to delete."
    if drift:
        text += f" {drift} target{'s' if drift != 1 else ''} changed by hand (apply needs --force)."
    errors = plan.count("error")
    if errors:
        text += f" {errors} target{'s' if errors != 1 else ''} failed to plan."
    return text


def plan_text(plan: ReconcilePlan, credential_count: int, *, show_diff: bool = True) -> list[str]:
    lines = [verification_line(plan.observations, credential_count), ""]
    interesting = [
        t for t in plan.targets if t.pending or t.error or t.excluded or t.unsupported or t.skipped
    ]
    if not plan.targets:
        lines.append("No targets in the credentials file.")
    elif interesting:
        lines.append("credlib will perform the following actions:" if plan.changes_pending else "Targets:")
        lines.append("")
        for outcome in interesting:
            lines.extend(target_lines(outcome, show_diff=show_diff))
            lines.append("")
    lines.append(summary_line(plan))
    return lines


def apply_text(plan: ReconcilePlan) -> list[str]:
    lines: list[str] = []
    for outcome in plan.targets:
        t = outcome.target
        if outcome.applied:
            verb = VERBS.get(outcome.action, "written")
            detail = (outcome.delivery.outcome if outcome.delivery else None) or verb
            lines.append(f'{t.type} "{t.name}": {detail} ({where(outcome)})')
            for link in outcome.links():
                lines.append(f"  {link}")
        elif outcome.refused:
            lines.append(f'{t.type} "{t.name}": refused: {outcome.refused}')
        elif outcome.error is not None:
            lines.append(f'{t.type} "{t.name}": failed: {outcome.error}')
    done = {a: sum(1 for t in plan.targets if t.applied and t.action == a) for a in VERBS}
    failed = sum(1 for t in plan.targets if t.error is not None or t.refused)
    lines.append(
        f"Apply {'finished with errors' if failed else 'complete'}! Targets: {done['create']} created, "
        f"{done['update']} updated, {done['delete']} deleted" + (f", {failed} failed." if failed else ".")
    )
    return lines


def target_json(outcome: TargetOutcome, *, applying: bool) -> dict[str, Any]:
    base: dict[str, Any] = {}
    if outcome.delivery is not None:
        base.update(outcome.delivery.to_json())
    t = outcome.target
    base.update(
        name=t.name,
        type=t.type,
        action=outcome.action,
        changes=[c.to_json() for c in outcome.changes()],
        diff=outcome.diff(),
        drift=outcome.drift,
        error=outcome.error,
        skipped=outcome.skipped,
        excluded=[{"name": v.name, "id": v.credential_id, "status": v.status} for v in outcome.excluded]
        + [
            {"name": c.name, "id": c.id, "status": "no_responses_api", "reason": why}
            for c, why in outcome.unsupported
        ],
        unchecked=[{"name": c.name, "id": c.id, "reason": why} for c, why in outcome.unchecked],
    )
    base.setdefault("path", t.path)
    if applying:
        base.update(applied=outcome.applied, refused=outcome.refused)
    return base


def plan_json(plan: ReconcilePlan, *, command: str) -> dict[str, Any]:
    applying = command == "apply"
    return {
        "format_version": FORMAT_VERSION,
        "command": command,
        "offline": plan.offline,
        "verification": [v.to_json() for v in plan.observations.verdicts.values()],
        "targets": [target_json(t, applying=applying) for t in plan.targets],
        "summary": {
            "create": plan.count("create"),
            "update": plan.count("update"),
            "delete": plan.count("delete"),
            "noop": plan.count("noop"),
            "drift": sum(1 for t in plan.targets if t.drift),
            "error": sum(1 for t in plan.targets if t.error is not None),
            "changes_pending": plan.changes_pending,
        },
    }


def table_lines(rows: list[dict[str, Any]], indent: str = "  ") -> list[str]:
    """A plain aligned table (no colour, no box drawing: it is also read in logs and CI output)."""
    if not rows:
        return []
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    lines = [indent + "  ".join(c.ljust(widths[c]) for c in cols).rstrip()]
    lines += [indent + "  ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols).rstrip() for r in rows]
    return lines
