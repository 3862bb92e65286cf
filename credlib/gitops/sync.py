"""`credlib sync`: fast-forward this clone to its upstream, then plan and apply with this machine's
targets (SPEC §7; research declarative-anchors §4.1).

A pull that cannot fast-forward (local commits the upstream does not have) is refused before anything
is merged or applied: syncing is for machines that follow, and a divergence needs a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from credlib.errors import CredlibError, ExitCode
from credlib.gitops.gitcmd import GitError, git, repo_root, upstream_ref
from credlib.gitops.machine import MachineConfig, apply_machine_config, load_machine_config
from credlib.model import Config


class SyncRefused(CredlibError):
    exit_code = ExitCode.CHECK_FAILED


@dataclass(frozen=True)
class PullResult:
    root: Path
    upstream: str
    before: str
    after: str

    @property
    def updated(self) -> bool:
        return self.before != self.after


def pull_ff_only(credentials_path: Path) -> PullResult:
    root = repo_root(credentials_path.resolve())
    upstream = upstream_ref(root)
    if upstream is None:
        raise SyncRefused(
            f"{root}: the current branch has no upstream to sync from",
            hint="set one with `git branch --set-upstream-to origin/main`",
        )
    before = git("rev-parse", "HEAD", cwd=root).strip()
    try:
        git("pull", "--ff-only", "--quiet", cwd=root)
    except GitError as exc:
        lowered = exc.message.lower()
        if "fast-forward" in lowered or "diverg" in lowered:
            raise SyncRefused(
                f"refusing to sync: this clone has commits that {upstream} does not (not a fast-forward)",
                hint="merge or rebase by hand (`git pull`; the credlib merge driver resolves the "
                "credentials file), push, then run `credlib sync` again",
            ) from None
        raise
    after = git("rev-parse", "HEAD", cwd=root).strip()
    return PullResult(root=root, upstream=upstream, before=before, after=after)


def machine_view(config: Config, credentials_path: Path) -> tuple[Config, MachineConfig]:
    """The credentials file as this machine applies it (its targets, its output paths)."""
    machine = load_machine_config(credentials_path)
    return apply_machine_config(config, machine), machine
