"""The reconciler (SPEC §6): observe credentials, plan every target, apply what changed.

``observe`` runs verification and telemetry and records them in state; ``plan`` renders and diffs
every target; ``apply`` delivers the pending changes; ``report`` turns either into human text or
the JSON of SPEC §3; ``session`` strings them together under the apply lock for the CLI and the demo.
"""
