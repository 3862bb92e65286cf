"""`credlib git setup`: register the textconv and the merge driver in a repository.

Git config lives in the repository's own `.git/config` (not committed: each clone runs setup once);
`.gitattributes` is committed so every clone routes the credentials files through the same drivers.
"""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from credlib.gitops.gitcmd import git, repo_root

ATTRS = "diff=credlib merge=credlib"


@dataclass
class SetupReport:
    root: Path
    config_set: dict[str, str] = field(default_factory=dict)
    attributes_added: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.config_set or self.attributes_added)


def credlib_command() -> str:
    """How git should call credlib: the absolute path when on PATH, so hooks work from any shell."""
    found = shutil.which("credlib")
    return shlex.quote(found) if found else "credlib"


def attribute_patterns(credentials_path: Path, root: Path) -> list[str]:
    target = credentials_path.resolve()
    try:
        rel = target.relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = target.name
    if credentials_path.is_dir():
        return [f"/{rel}/*.yaml", f"/{rel}/*.yml"]
    return [f"/{rel}"]


def _update_gitattributes(path: Path, patterns: list[str]) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    added: list[str] = []
    for pattern in patterns:
        wanted = f"{pattern} {ATTRS}"
        for index, line in enumerate(lines):
            parts = line.split()
            if parts and parts[0] == pattern:
                if set(ATTRS.split()) <= set(parts[1:]):
                    break
                kept = [p for p in parts[1:] if not p.startswith(("diff", "merge", "-diff", "-merge"))]
                lines[index] = " ".join([pattern, *kept, *ATTRS.split()])
                added.append(lines[index])
                break
        else:
            lines.append(wanted)
            added.append(wanted)
    if added:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return added


def setup_repo(credentials_path: Path, *, command: str | None = None) -> SetupReport:
    root = repo_root(credentials_path.resolve())
    cmd = command or credlib_command()
    report = SetupReport(root=root)
    wanted = {
        "diff.credlib.textconv": f"{cmd} git textconv",
        "merge.credlib.name": "credlib: three-way merge of sops-encrypted credentials",
        "merge.credlib.driver": f"{cmd} git merge-driver %O %A %B %P",
    }
    for key, value in wanted.items():
        current = git("config", "--local", "--get", key, cwd=root, check=False).strip()
        if current != value:
            git("config", "--local", key, value, cwd=root)
            report.config_set[key] = value
    report.attributes_added = _update_gitattributes(
        root / ".gitattributes", attribute_patterns(credentials_path, root)
    )
    return report
