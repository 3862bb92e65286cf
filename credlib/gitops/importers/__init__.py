"""`credlib import --from all-api-hub|cc-switch|dotenv FILE`: adoption paths (SPEC §7).

Parse the source into candidates, drop duplicates and invalid entries (each with a reason), then add
the rest in one ``credlib.store.add_credentials`` call: one `sops edit`, so keys go straight into the
encrypted file (never argv, never a plaintext file of ours) and a failure leaves the file untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credlib.errors import FileAccessError, ValidationError
from credlib.gitops.importers.common import Candidate, ImportPlan, Skipped, plan_import

SOURCES = ("all-api-hub", "cc-switch", "dotenv")


@dataclass
class ImportReport:
    added: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        from credlib.redact import redact_key

        return {
            "dry_run": self.dry_run,
            "added": [
                {
                    "name": i["name"],
                    "base_url": i["base_url"],
                    "api_type": i.get("api_type", "openai-compatible"),
                    "api_key": redact_key(i["api_key"]),
                    "tags": i.get("tags", []),
                }
                for i in self.added
            ],
            "skipped": [{"source": s.source, "name": s.name, "reason": s.reason} for s in self.skipped],
            "warnings": self.warnings,
        }


def parse_source(kind: str, source: Path) -> tuple[list[Candidate], list[str]]:
    if kind == "cc-switch":
        from credlib.gitops.importers.cc_switch import parse_cc_switch

        return parse_cc_switch(source)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileAccessError(f"{source} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileAccessError(
            f"cannot read {source}: {getattr(exc, 'strerror', None) or 'not UTF-8 text'}"
        ) from None
    if kind == "all-api-hub":
        from credlib.gitops.importers.all_api_hub import parse_backup

        return parse_backup(text, str(source))
    from credlib.gitops.importers.dotenv import parse_dotenv

    return parse_dotenv(text, str(source))


def _drop_invalid(plan: ImportPlan) -> None:
    """Validate each new credential alone, so one bad entry is skipped with its reason, not fatal."""
    from credlib.validate import validate_data

    kept = []
    for item in plan.items:
        try:
            validate_data({"version": 1, "credentials": [item]}, file="<import>")
        except ValidationError as exc:
            reason = "; ".join(f"{p.path.replace('credentials[0].', '')}: {p.message}" for p in exc.problems)
            plan.skipped.append(Skipped(str(item.get("name")), str(item.get("name")), f"invalid: {reason}"))
            continue
        kept.append(item)
    plan.items = kept


def run_import(credentials_path: Path, kind: str, source: Path, *, dry_run: bool = False) -> ImportReport:
    from credlib import store

    if kind == "cc-switch" and not source.exists():
        raise FileAccessError(f"{source} does not exist")
    candidates, warnings = parse_source(kind, source)
    config = store.load_config(credentials_path)
    plan = plan_import(config, candidates, warnings)
    _drop_invalid(plan)
    report = ImportReport(added=plan.items, skipped=plan.skipped, warnings=plan.warnings, dry_run=dry_run)
    if plan.items and not dry_run:
        store.add_credentials(credentials_path, plan.items)
    return report
