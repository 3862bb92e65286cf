"""Per-machine configuration outside Git: which targets apply on this machine, and where they write.

``<config_dir>/machine.yaml`` (``credlib.paths.config_dir()``), never committed::

    targets: [ccr, codex]              # only these targets apply here (omit: all of them)
    skip_targets: [litellm]            # never these here
    paths:                             # output path overrides for file targets
      ccr: ~/work/.claude-code-router/config.json

The same file may scope settings to one credentials file under ``files: {<absolute path>: {...}}``;
a file section's keys replace the top-level ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from credlib.errors import Problem, ValidationError
from credlib.model import Config
from credlib.paths import config_dir

_KNOWN_KEYS = {"targets", "skip_targets", "paths", "files"}


@dataclass(frozen=True)
class MachineConfig:
    targets: tuple[str, ...] | None = None  # None = every target
    skip_targets: tuple[str, ...] = ()
    paths: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def applies(self, target_name: str) -> bool:
        if target_name in self.skip_targets:
            return False
        return self.targets is None or target_name in self.targets


def machine_config_path() -> Path:
    return config_dir() / "machine.yaml"


def _str_list(raw: Any, where: str, problems: list[Problem], file: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        problems.append(Problem(message="must be a list of target names", path=where, file=file))
        return ()
    return tuple(raw)


def _section(raw: dict[str, Any], prefix: str, problems: list[Problem], file: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"{prefix}{key}"
        if key not in _KNOWN_KEYS or (key == "files" and prefix):
            problems.append(
                Problem(
                    message=f"unknown key (known: {', '.join(sorted(_KNOWN_KEYS))})", path=where, file=file
                )
            )
        elif key in ("targets", "skip_targets"):
            out[key] = _str_list(value, where, problems, file)
        elif key == "paths":
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                problems.append(Problem(message="must map target names to paths", path=where, file=file))
            else:
                out["paths"] = dict(value)
    return out


def load_machine_config(
    credentials_path: str | Path | None = None, path: Path | None = None
) -> MachineConfig:
    """This machine's settings (for ``credentials_path`` when the file scopes them); defaults if absent."""
    source = path or machine_config_path()
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        return MachineConfig()
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        raw = YAML(typ="safe", pure=True).load(text) or {}
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ValidationError([Problem(message="invalid YAML", file=str(source), line=line)]) from None
    if not isinstance(raw, dict):
        raise ValidationError([Problem(message="must be a mapping", file=str(source))])
    problems: list[Problem] = []
    merged = _section(raw, "", problems, str(source))
    files = raw.get("files")
    if isinstance(files, dict) and credentials_path is not None:
        wanted = Path(credentials_path).expanduser().resolve()
        for key, section in files.items():
            if isinstance(key, str) and Path(key).expanduser().resolve() == wanted:
                if isinstance(section, dict):
                    merged.update(_section(section, f"files.{key}.", problems, str(source)))
                else:
                    problems.append(
                        Problem(message="must be a mapping", path=f"files.{key}", file=str(source))
                    )
    elif files is not None and not isinstance(files, dict):
        problems.append(Problem(message="must be a mapping of file paths", path="files", file=str(source)))
    if problems:
        raise ValidationError(problems)
    return MachineConfig(
        targets=merged.get("targets"),
        skip_targets=merged.get("skip_targets", ()),
        paths=merged.get("paths", {}),
        source=str(source),
    )


def apply_machine_config(config: Config, machine: MachineConfig) -> Config:
    """``config`` with only this machine's targets, their paths overridden where the machine says so."""
    targets = []
    for target in config.targets:
        if not machine.applies(target.name):
            continue
        override = machine.paths.get(target.name)
        targets.append(replace(target, path=override) if override else target)
    return replace(config, targets=tuple(targets))


def unknown_target_names(config: Config, machine: MachineConfig) -> list[str]:
    """Names the machine file mentions that the credentials file does not define (likely typos)."""
    known = {t.name for t in config.targets}
    named = set(machine.targets or ()) | set(machine.skip_targets) | set(machine.paths)
    return sorted(named - known)
