"""Deep-link delivery: links are printed (or handed to the OS opener); state remembers a hash of each
link issued so a plan shows only new or changed ones."""

from __future__ import annotations

import shutil
import subprocess
import sys

from credlib.errors import MissingToolError
from credlib.exports.redaction import redact_link
from credlib.exports.render import Rendering
from credlib.exports.targetplan import Change, TargetPlan
from credlib.state import State, sha256_text


async def plan_deeplink(plan: TargetPlan, rendering: Rendering, state: State) -> TargetPlan:
    issued = state.get("deeplinks", plan.name) or {}
    hashes = {link_id: sha256_text(link) for link_id, link in rendering.links.items()}
    for link_id, link in rendering.links.items():
        if link_id not in issued:
            plan.changes.append(Change("+", link_id, redact_link(link)))
            plan.links.append(link)
        elif issued[link_id] != hashes[link_id]:
            plan.changes.append(Change("~", link_id, redact_link(link)))
            plan.links.append(link)
    for link_id in issued:
        if link_id not in hashes:
            plan.changes.append(Change("-", link_id, "no longer exported (remove it in the app by hand)"))
    plan.diff = "".join(f"{c.op} {c.key}: {c.summary}\n" for c in plan.changes)
    if not plan.changes:
        plan.action = "noop"
    elif all(c.op == "+" for c in plan.changes):
        plan.action = "create"
    elif all(c.op == "-" for c in plan.changes):
        plan.action = "delete"
    else:
        plan.action = "update"
    plan.private["hashes"] = hashes
    return plan


async def apply_deeplink(plan: TargetPlan, state: State) -> TargetPlan:
    state.record("deeplinks", plan.name, dict(plan.private.get("hashes", {})))
    plan.outcome = (
        f"{len(plan.links)} link{'s' if len(plan.links) != 1 else ''} issued" if plan.links else "unchanged"
    )
    plan.private = {}
    return plan


def open_link(url: str) -> None:
    """Hand a deep link to the OS opener (xdg-open / open), which passes it to the registered app.

    The link is the export itself; the opener receives it the only way openers accept a URL.
    """
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    found = shutil.which(opener)
    if not found:
        raise MissingToolError(f"{opener} not found; copy the printed link into the app instead")
    subprocess.run(
        [found, url], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30
    )
