"""What a delivery would do (or did) to one target: the unit plan/apply report on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["create", "update", "delete", "noop", "drift", "error"]


@dataclass(frozen=True)
class Change:
    op: Literal["+", "~", "-"]
    key: str  # which entry, e.g. "Providers[relay]" (never a key's plaintext)
    summary: str = ""

    def to_json(self) -> dict[str, str]:
        return {"op": self.op, "key": self.key, "summary": self.summary}


@dataclass
class TargetPlan:
    name: str
    type: str
    action: Action = "noop"
    changes: list[Change] = field(default_factory=list)
    diff: str = ""  # unified diff, secrets redacted
    error: str | None = None
    drift: bool = False
    # Full deep links (they hold keys): never in JSON, the diff or a repr.
    links: list[str] = field(default_factory=list, repr=False)
    notes: list[str] = field(default_factory=list)  # e.g. credentials left out and why
    outcome: str | None = None  # after apply: "written", "unchanged", "links issued", "failed", ...
    delivery: str = ""
    paths: list[str] = field(default_factory=list)  # files or URLs this target touches
    # What apply needs (writes, HTTP operations, state records); private to the delivery.
    private: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def has_changes(self) -> bool:
        return self.action in ("create", "update", "delete", "drift")

    def fail(self, message: str) -> TargetPlan:
        self.action = "error"
        self.error = message
        self.private = {}
        self.links = []
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "delivery": self.delivery,
            "action": self.action,
            "drift": self.drift,
            "changes": [c.to_json() for c in self.changes],
            "error": self.error,
            "notes": list(self.notes),
            "paths": list(self.paths),
            "links": len(self.links),
            "outcome": self.outcome,
        }
