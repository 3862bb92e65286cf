"""The target types credlib can deliver to: what each one renders, how it is delivered and merged.

A new target type is one template in ``templates/`` plus one entry here. ``merge`` lists the parts of
the tool's config that credlib owns entries in; everything else in the tool's file is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from credlib.errors import CredlibError, ExitCode
from credlib.model import API_TYPES, ApiType, Credential, Target

Delivery = Literal["file", "deeplink", "http"]
FileFormat = Literal["json", "yaml", "toml", "dotenv"]
ALL_TYPES: frozenset[ApiType] = frozenset(API_TYPES)


@dataclass(frozen=True)
class MergeRule:
    """One owned region of a tool's config.

    ``map``: the container at ``path`` maps entry ids to entries (opencode ``provider``, dotenv vars).
    ``list``: a list of entries identified by the fields in ``key`` (dotted paths allowed).
    ``value``: a single setting credlib sets only when it is absent or credlib set it before.
    """

    path: tuple[str, ...]
    kind: Literal["map", "list", "value"]
    key: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return ".".join(self.path) or "."


@dataclass(frozen=True)
class Companion:
    """A second file a type writes next to the main one (e.g. Gemini CLI's settings.json next to .env)."""

    role: str
    template: str
    file_format: FileFormat
    path_option: str  # target option that overrides the path
    default_name: str  # file name, relative to the main file's directory
    merge: tuple[MergeRule, ...]


@dataclass(frozen=True)
class TargetType:
    name: str
    delivery: Delivery
    file_format: FileFormat | None
    template: str
    supports: frozenset[ApiType]
    default_path: str | None
    description: str
    merge: tuple[MergeRule, ...] = ()
    companions: tuple[Companion, ...] = ()
    # option "mode" selects an alternative rendering of the same type (e.g. CCR's ccr:// deep link).
    modes: Mapping[str, TargetType] = field(default_factory=dict)
    requires_models: bool = False  # credentials without a model list are left out, with a note
    single: bool = False  # the tool holds one credential at a time (the first selected one is used)
    family: str | None = None  # HTTP dialect for http deliveries
    forbidden_chars: str = ""  # characters the tool's import mangles in names and values
    # The tool speaks only the OpenAI Responses API: plan leaves out endpoints without it.
    requires_responses: bool = False


def _list(path: str, *key: str) -> MergeRule:
    return MergeRule(tuple(path.split(".")), "list", key)


def _map(path: str) -> MergeRule:
    return MergeRule(tuple(p for p in path.split(".") if p), "map")


def _value(path: str) -> MergeRule:
    return MergeRule(tuple(path.split(".")), "value")


def _file(
    name: str,
    fmt: FileFormat,
    template: str,
    default_path: str,
    description: str,
    *merge: MergeRule,
    supports: frozenset[ApiType] = ALL_TYPES,
    **extra: Any,
) -> TargetType:
    return TargetType(name, "file", fmt, template, supports, default_path, description, merge=merge, **extra)


def _link(name: str, template: str, description: str, **extra: Any) -> TargetType:
    return TargetType(name, "deeplink", None, template, ALL_TYPES, None, description, **extra)


def _http(name: str, family: str, template: str, description: str, **extra: Any) -> TargetType:
    return TargetType(name, "http", "json", template, ALL_TYPES, None, description, family=family, **extra)


_CLIPROXY_MERGE = (
    _list("openai-compatibility", "name"),
    _list("claude-api-key", "api-key", "base-url"),
    _list("gemini-api-key", "api-key", "base-url"),
    _list("codex-api-key", "api-key", "base-url"),
)


def _channel_type(name: str, description: str) -> TargetType:
    # A channel without models routes nothing.
    return _http(name, name, "channels.json.j2", description, requires_models=True)


TARGET_TYPES: dict[str, TargetType] = {
    t.name: t
    for t in (
        _link(
            "cherry-studio",
            "cherry-studio.j2",
            "Cherry Studio cherrystudio://providers/api-keys deep link, one per credential.",
            forbidden_chars="'()",
        ),
        _link(
            "cc-switch",
            "cc-switch.j2",
            "CC Switch ccswitch://v1/import deep link, one per credential and app.",
        ),
        _file(
            "kilo-code",
            "json",
            "kilo-code.json.j2",
            "./kilo-settings.json",
            "Kilo Code 7.x kilo-settings.json (Settings > About > Import); mode=legacy for 5.x.",
            _map("provider"),
            _value("model"),
            requires_models=True,
            modes={
                "legacy": _file(
                    "kilo-code",
                    "json",
                    "kilo-code-legacy.json.j2",
                    "./kilo-code-settings.json",
                    "Roo Code / Kilo Code 5.x settings import file (providerProfiles).",
                    _map("providerProfiles.apiConfigs"),
                    _value("providerProfiles.currentApiConfigName"),
                )
            },
        ),
        _file(
            "cliproxyapi",
            "yaml",
            "cliproxyapi.yaml.j2",
            "~/.cli-proxy-api/config.yaml",
            "CLIProxyAPI config.yaml provider lists; mode=api uses the management API instead.",
            *_CLIPROXY_MERGE,
            modes={
                "api": _http(
                    "cliproxyapi",
                    "cliproxyapi",
                    "cliproxyapi-management.json.j2",
                    "CLIProxyAPI management API (/v0/management): the provider lists, replaced per list.",
                    merge=_CLIPROXY_MERGE,
                )
            },
        ),
        _file(
            "claude-code-router",
            "json",
            "claude-code-router.json.j2",
            "~/.claude-code-router/config.json",
            "Claude Code Router 1.x/2.x config.json Providers (3.x migrates it); mode=deeplink.",
            _list("Providers", "name"),
            _value("Router.default"),
            requires_models=True,
            modes={
                "deeplink": _link(
                    "claude-code-router",
                    "claude-code-router-deeplink.j2",
                    "Claude Code Router 3.x ccr://provider deep link, one per credential.",
                )
            },
        ),
        _channel_type("new-api", "New API channels, upserted by name through the admin API."),
        _channel_type("one-api", "one-api channels, upserted by name through the admin API."),
        _channel_type("veloera", "Veloera channels, upserted by name through the admin API."),
        _channel_type("done-hub", "DoneHub / one-hub channels, upserted by name."),
        _file(
            "claude-code",
            "json",
            "claude-code.json.j2",
            "~/.claude/settings.json",
            "Claude Code settings.json env (ANTHROPIC_BASE_URL / token / model); one credential.",
            _map("env"),
            supports=frozenset({"anthropic"}),
            single=True,
        ),
        _file(
            "codex",
            "toml",
            "codex.toml.j2",
            "~/.codex/config.toml",
            "Codex config.toml model_providers (Responses API only) + keys in $CODEX_HOME/.env.",
            _map("model_providers"),
            _value("model_provider"),
            _value("model"),
            supports=frozenset({"openai", "openai-compatible"}),
            companions=(Companion("env", "codex.env.j2", "dotenv", "env_path", ".env", (_map(""),)),),
            requires_models=True,
            requires_responses=True,
        ),
        _file(
            "gemini-cli",
            "dotenv",
            "gemini-cli.env.j2",
            "~/.gemini/.env",
            "Gemini CLI ~/.gemini/.env (key, base URL, model) + settings.json auth type.",
            _map(""),
            supports=frozenset({"google"}),
            companions=(
                Companion(
                    "settings",
                    "gemini-cli-settings.json.j2",
                    "json",
                    "settings_path",
                    "settings.json",
                    (_value("security.auth.selectedType"),),
                ),
            ),
            single=True,
        ),
        _file(
            "opencode",
            "json",
            "opencode.json.j2",
            "~/.config/opencode/opencode.json",
            "OpenCode opencode.json provider entries (also Kilo CLI's kilo.json).",
            _value("$schema"),
            _map("provider"),
            _value("model"),
            requires_models=True,
        ),
        _file(
            "litellm",
            "yaml",
            "litellm.yaml.j2",
            "./litellm-config.yaml",
            "LiteLLM proxy config.yaml model_list deployments (one per credential and model).",
            _list("model_list", "model_info.id"),
            _value("general_settings.master_key"),
            requires_models=True,
        ),
        _file(
            "dotenv",
            "dotenv",
            "dotenv.env.j2",
            "./.env",
            "A .env file: <ID>_API_KEY/_BASE_URL/_MODEL per credential; style=standard.",
            _map(""),
        ),
    )
}


def get_target_type(name: str) -> TargetType:
    try:
        return TARGET_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(TARGET_TYPES))
        raise CredlibError(
            f"unknown target type {name!r}; known types: {known}", exit_code=ExitCode.INVALID_FILE
        ) from None


def resolve_type(target: Target) -> TargetType:
    """The effective type of ``target``: its type, or the alternative its ``mode`` option names."""
    base = get_target_type(target.type)
    mode = target.options.get("mode")
    if target.type == "cliproxyapi" and mode is None and target.url:
        mode = "api"
    if mode is None or mode == base.delivery:  # e.g. `mode: file` names the default explicitly
        return base
    try:
        return base.modes[str(mode)]
    except KeyError:
        known = ", ".join(sorted(base.modes)) or "none"
        raise CredlibError(
            f"target {target.name!r}: type {target.type} has no mode {mode!r} (modes: {known})",
            exit_code=ExitCode.INVALID_FILE,
        ) from None


def select_credentials(target: Target, credentials: Sequence[Credential]) -> list[Credential]:
    """The credentials ``target`` takes: every given criterion must match (tags are any-of).

    Without ``select.types`` a credential must be of an API type the target type supports; an
    explicit ``types`` list is still intersected with what the type supports.
    """
    ttype = resolve_type(target)
    sel = target.select
    names = {n.casefold() for n in sel.names}
    chosen: list[Credential] = []
    for cred in credentials:
        if cred.api_type not in ttype.supports:
            continue
        if sel.types and cred.api_type not in sel.types:
            continue
        if sel.tags and not set(sel.tags) & set(cred.tags):
            continue
        if names and cred.name.casefold() not in names and cred.id.casefold() not in names:
            continue
        chosen.append(cred)
    return chosen
