"""Deliveries: put a rendering where the tool reads it. ``plan_delivery`` computes what would change
without writing; ``apply_delivery`` carries a plan out."""

from __future__ import annotations

from credlib.exports.deliveries.dispatch import apply_delivery, plan_delivery, render_and_plan
from credlib.exports.targetplan import Change, TargetPlan

__all__ = ["Change", "TargetPlan", "apply_delivery", "plan_delivery", "render_and_plan"]
