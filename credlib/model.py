"""The typed, validated form of a credentials file (SPEC §1).

These objects are what every other layer consumes: the store produces them from sops' JSON output
(see ``credlib.validate``), the network, telemetry and export layers read them. They hold the
plaintext key in memory only; ``Credential.__repr__`` never shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ApiType = Literal["openai-compatible", "openai", "anthropic", "google"]
API_TYPES: tuple[ApiType, ...] = ("openai-compatible", "openai", "anthropic", "google")

TelemetryMethod = Literal["auto", "newapi", "openai-billing", "sub2api", "custom", "disabled"]
TELEMETRY_METHODS: tuple[TelemetryMethod, ...] = (
    "auto",
    "newapi",
    "openai-billing",
    "sub2api",
    "custom",
    "disabled",
)

# The metrics of SPEC §5 that a custom mapping may fill.
METRIC_NAMES: tuple[str, ...] = (
    "balance",
    "today_cost",
    "today_requests",
    "today_prompt_tokens",
    "today_completion_tokens",
    "today_total_tokens",
    "total_used",
    "total_granted",
    "total_available",
    "unlimited",
    "expires_at",
)

DEFAULT_QUOTA_PER_UNIT = 500_000


@dataclass(frozen=True)
class Limits:
    """Per-origin request limits (SPEC §4)."""

    concurrency: int = 2
    burst: int = 4
    per_minute: float = 18.0


@dataclass(frozen=True)
class TelemetryConfig:
    method: TelemetryMethod = "auto"
    endpoint: str | None = None  # custom only: root-relative or absolute on the base_url's origin
    mapping: dict[str, str] = field(default_factory=dict)  # metric -> dot path or JSONPath
    quota_per_unit: float | None = None  # newapi/openai-billing override
    bearer_token: str | None = None  # optional token for custom endpoints; a secret (encrypted)


@dataclass(frozen=True)
class Defaults:
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    limits: Limits = field(default_factory=Limits)
    timeout_s: float = 20.0


@dataclass(frozen=True)
class Credential:
    name: str
    id: str  # stable slug; defaults to slug(name)
    base_url: str  # normalized (SPEC §2)
    api_key: str = field(repr=False)
    api_type: ApiType = "openai-compatible"
    tags: tuple[str, ...] = ()
    notes: str | None = None
    models: tuple[str, ...] = ()
    expires_at: str | None = None  # ISO date, informational
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    index: int = 0  # position in the file's `credentials` list
    source_file: str = ""  # the file it came from (credentials.d/ may hold several)

    @property
    def default_model(self) -> str | None:
        return self.models[0] if self.models else None


@dataclass(frozen=True)
class Select:
    """Which credentials a target takes; every given criterion must match (tags are any-of)."""

    tags: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    types: tuple[ApiType, ...] = ()


@dataclass(frozen=True)
class Target:
    name: str
    type: str
    path: str | None = None  # file targets (``~`` expanded at delivery time)
    url: str | None = None  # HTTP upsert targets (admin API base)
    select: Select = field(default_factory=Select)
    options: dict[str, Any] = field(default_factory=dict)  # type-specific options
    template: str | None = None  # a user's own Jinja template instead of the shipped one
    include_failing: bool = False  # keep credentials that failed verification
    access_token: str | None = field(default=None, repr=False)  # admin token (secret)
    management_key: str | None = field(default=None, repr=False)  # CLIProxyAPI management key (secret)
    index: int = 0


@dataclass(frozen=True)
class Config:
    version: int
    defaults: Defaults
    credentials: tuple[Credential, ...]
    targets: tuple[Target, ...]
    path: str = ""

    def find(self, name_or_id: str) -> Credential | None:
        """Look up a credential by name (case-insensitive) or id."""
        folded = name_or_id.casefold()
        for cred in self.credentials:
            if cred.name.casefold() == folded or cred.id == name_or_id:
                return cred
        return None

    def secrets(self) -> list[str]:
        """Every secret value in the file, for output scrubbing and leak tests."""
        out: list[str] = []
        for cred in self.credentials:
            out.append(cred.api_key)
            if cred.telemetry.bearer_token:
                out.append(cred.telemetry.bearer_token)
        for tgt in self.targets:
            for value in (tgt.access_token, tgt.management_key):
                if value:
                    out.append(value)
        return [s for s in out if s]
