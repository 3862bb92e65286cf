"""Decrypted document -> validated ``Config``, reporting every problem at once (SPEC §1).

Two passes: a structural pass driven by ``credlib.schema`` (types, unknown and required keys, enums,
positive numbers) that also drops whatever is malformed, then a semantic pass that builds the typed
objects (URL normalization, unique names and ids, same-origin telemetry endpoints, mapping paths).
Messages never contain a secret value: for secret fields only the field path is named.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from credlib.errors import Problem, ProblemList, ValidationError
from credlib.model import (
    DEFAULT_QUOTA_PER_UNIT,
    Config,
    Credential,
    Defaults,
    Limits,
    Select,
    Target,
    TelemetryConfig,
)
from credlib.schema import DATE_PATTERN, ROOT_FIELDS, Field
from credlib.urls import display_url, normalize_base_url, origin_of

LineOf = Callable[[str], "int | None"]

_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "a mapping",
    list: "a list",
    type(None): "empty (null)",
}


def slug(name: str) -> str:
    """Stable id from a name: ASCII letters/digits and dashes; a short hash when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if text:
        return text
    import hashlib

    return "cred-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]


def _describe(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class _Checker:
    def __init__(self, problems: ProblemList, line_of: LineOf | None) -> None:
        self.problems = problems
        self.line_of = line_of

    def add(self, path: str, message: str) -> None:
        line = self.line_of(path) if self.line_of else None
        self.problems.add(path, message, line)

    # --- structural pass ---------------------------------------------------------------------

    def mapping(self, value: object, fields: tuple[Field, ...], path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(path or "(root)", f"must be a mapping, not {_describe(value)}")
            return None
        by_name = {f.name: f for f in fields}
        clean: dict[str, Any] = {}
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            spec = by_name.get(key) if isinstance(key, str) else None
            if spec is None:
                known = ", ".join(by_name)
                self.add(sub, f"unknown field {key!r} (known: {known})")
                continue
            if item is None and not spec.required:
                continue  # `notes:` with nothing after it means "not set", as people expect
            checked = self.value(item, spec, sub)
            if checked is not None:
                clean[key] = checked
        for spec in fields:
            if spec.required and spec.name not in value:
                sub = f"{path}.{spec.name}" if path else spec.name
                self.add(sub, "is required")
        return clean

    def scalar(self, value: object, kind: str, spec: Field, path: str) -> object | None:
        secret_note = "" if not spec.secret else " (value not shown)"
        if kind == "string":
            if not isinstance(value, str):
                self.add(path, f"must be a string, not {_describe(value)}{secret_note}")
                return None
            if (spec.required or spec.secret) and not value.strip():
                self.add(path, "must not be empty")
                return None
            if spec.pattern and not re.match(spec.pattern, value):
                self.add(path, f"{value!r} is not valid (letters, digits, '.', '_' and '-' only)")
                return None
            if spec.enum and value not in spec.enum:
                self.add(path, f"{value!r} is not one of: {', '.join(spec.enum)}")
                return None
            return value
        if kind == "date":
            if not isinstance(value, str) or not re.match(DATE_PATTERN, value):
                shown = repr(value) if isinstance(value, str) else _describe(value)
                self.add(path, f"must be a date like 2027-01-31, not {shown}")
                return None
            return value[:10]
        if kind == "boolean":
            if not isinstance(value, bool):
                self.add(path, f"must be true or false, not {_describe(value)}")
                return None
            return value
        if kind in ("integer", "number"):
            ok = isinstance(value, int) and not isinstance(value, bool)
            if kind == "number":
                ok = ok or isinstance(value, float)
            if not ok:
                self.add(path, f"must be {'an integer' if kind == 'integer' else 'a number'}, "
                               f"not {_describe(value)}")
                return None
            if spec.const is not None and value != spec.const:
                self.add(path, f"must be {spec.const} (this credlib reads version {spec.const} files)")
                return None
            assert isinstance(value, int | float)
            if spec.positive and value <= 0:
                self.add(path, f"must be greater than 0, not {value}")
                return None
            return value
        raise AssertionError(kind)  # pragma: no cover - the schema only uses the kinds above

    def value(self, value: object, spec: Field, path: str) -> object | None:
        if spec.kind == "object":
            if spec.free_form:
                if not isinstance(value, dict):
                    self.add(path, f"must be a mapping, not {_describe(value)}")
                    return None
                return value
            return self.mapping(value, spec.fields, path)
        if spec.kind == "map":
            return self.map_of_strings(value, spec, path)
        if spec.kind == "array":
            if not isinstance(value, list):
                self.add(path, f"must be a list, not {_describe(value)}")
                return None
            out: list[Any] = []
            for i, item in enumerate(value):
                sub = f"{path}[{i}]"
                checked: object | None
                if spec.item_kind == "object":
                    checked = self.mapping(item, spec.fields, sub)
                else:
                    checked = self.scalar(item, spec.item_kind or "string", spec, sub)
                if checked is not None:
                    out.append(checked)
                elif spec.item_kind == "object":
                    out.append(None)  # keep indexes aligned with the file for later messages
            return out
        return self.scalar(value, spec.kind, spec, path)

    def map_of_strings(self, value: object, spec: Field, path: str) -> dict[str, str] | None:
        if not isinstance(value, dict):
            self.add(path, f"must be a mapping, not {_describe(value)}")
            return None
        out: dict[str, str] = {}
        for key, item in value.items():
            sub = f"{path}.{key}"
            if key not in spec.map_keys:
                self.add(sub, f"unknown metric {key!r} (known: {', '.join(spec.map_keys)})")
                continue
            if not isinstance(item, str) or not item.strip():
                self.add(sub, "must be a non-empty path such as data.balance or $.data.balance")
                continue
            out[key] = item.strip()
        return out


def _parse_mapping_path(expr: str) -> None:
    from credlib.telemetry.mapping import parse_path

    parse_path(expr)


def _telemetry(
    chk: _Checker, raw: dict[str, Any] | None, base: TelemetryConfig, path: str, base_url: str | None
) -> TelemetryConfig:
    raw = raw or {}
    tel = TelemetryConfig(
        method=raw.get("method", base.method),
        endpoint=raw.get("endpoint", base.endpoint),
        mapping=dict(raw.get("mapping", base.mapping)),
        quota_per_unit=raw.get("quota_per_unit", base.quota_per_unit),
        bearer_token=raw.get("bearer_token", base.bearer_token),
    )
    for metric, expr in raw.get("mapping", {}).items():
        try:
            _parse_mapping_path(expr)
        except ValueError as exc:
            chk.add(f"{path}.mapping.{metric}", str(exc))
    if tel.endpoint is not None and "endpoint" in raw:
        _check_endpoint(chk, tel.endpoint, f"{path}.endpoint", base_url)
    if tel.method == "custom":
        if not tel.endpoint:
            chk.add(f"{path}.endpoint", "is required when method is custom")
        if not tel.mapping:
            chk.add(f"{path}.mapping", "needs at least one metric when method is custom")
    return tel


def _check_endpoint(chk: _Checker, endpoint: str, path: str, base_url: str | None) -> None:
    text = endpoint.strip()
    if text.startswith("//"):
        chk.add(path, "must be a root-relative path (/api/usage) or an absolute URL, not //host")
        return
    if text.startswith("/"):
        return
    if not text.lower().startswith(("http://", "https://")):
        chk.add(path, f"{display_url(text)!r} must be a root-relative path (/api/usage) or an http(s) URL")
        return
    if base_url is None:
        chk.add(path, "an absolute endpoint is only allowed on a credential (it must match its base_url)")
        return
    try:
        same = origin_of(text) == origin_of(base_url)
    except ValueError as exc:
        chk.add(path, str(exc))
        return
    if not same:
        chk.add(
            path,
            f"{display_url(text)!r} is on another origin than base_url ({origin_of(base_url)}); "
            "telemetry requests carry the key, so only the same origin is allowed",
        )


def _defaults(chk: _Checker, raw: dict[str, Any] | None) -> Defaults:
    raw = raw or {}
    limits_raw = raw.get("limits") or {}
    base_limits = Limits()
    limits = Limits(
        concurrency=limits_raw.get("concurrency", base_limits.concurrency),
        burst=limits_raw.get("burst", base_limits.burst),
        per_minute=float(limits_raw.get("per_minute", base_limits.per_minute)),
    )
    tel = _telemetry(chk, raw.get("telemetry"), TelemetryConfig(), "defaults.telemetry", None)
    return Defaults(telemetry=tel, limits=limits, timeout_s=float(raw.get("timeout_s", 20.0)))


def _credential(
    chk: _Checker, raw: dict[str, Any], index: int, defaults: Defaults, file: str
) -> Credential | None:
    path = f"credentials[{index}]"
    name = raw.get("name")
    key = raw.get("api_key")
    api_type = raw.get("api_type", "openai-compatible")
    base_url: str | None = None
    if "base_url" in raw:
        try:
            base_url = normalize_base_url(raw["base_url"], api_type)
        except ValueError as exc:
            chk.add(f"{path}.base_url", str(exc))
    tel = _telemetry(chk, raw.get("telemetry"), defaults.telemetry, f"{path}.telemetry", base_url)
    if not isinstance(name, str) or base_url is None or not isinstance(key, str):
        return None
    return Credential(
        name=name.strip(),
        id=raw.get("id") or slug(name),
        base_url=base_url,
        api_key=key.strip(),
        api_type=api_type,
        tags=tuple(t.strip() for t in raw.get("tags", ()) if t.strip()),
        notes=raw.get("notes"),
        models=tuple(m.strip() for m in raw.get("models", ()) if m.strip()),
        expires_at=raw.get("expires_at"),
        telemetry=tel,
        index=index,
        source_file=file,
    )


def _target(chk: _Checker, raw: dict[str, Any], index: int) -> Target | None:
    name, kind = raw.get("name"), raw.get("type")
    if not isinstance(name, str) or not isinstance(kind, str):
        return None
    sel = raw.get("select") or {}
    return Target(
        name=name.strip(),
        type=kind.strip(),
        path=raw.get("path"),
        url=raw.get("url"),
        select=Select(
            tags=tuple(sel.get("tags", ())),
            names=tuple(sel.get("names", ())),
            types=tuple(sel.get("types", ())),
        ),
        options=dict(raw.get("options", {})),
        template=raw.get("template"),
        include_failing=bool(raw.get("include_failing", False)),
        access_token=raw.get("access_token"),
        management_key=raw.get("management_key"),
        index=index,
    )


def check_unique(chk: _Checker, creds: list[tuple[int, str, str]], targets: list[Target]) -> None:
    """Names (ignoring case and width) and ids of credentials — given as (index, name, id), so a
    credential with other problems still counts — and names of targets are unique."""
    seen_names: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for index, name, cid in creds:
        folded = unicodedata.normalize("NFKC", name.strip()).casefold()
        where = f"credentials[{index}]"
        if folded in seen_names:
            chk.add(f"{where}.name", f"duplicate name {name!r} (also credentials[{seen_names[folded]}])")
            continue  # a duplicate id derived from the same name would only repeat this problem
        seen_names[folded] = index
        if cid in seen_ids:
            chk.add(f"{where}.id", f"duplicate id {cid!r} (also credentials[{seen_ids[cid]}]); "
                                   "set a distinct `id`")
        else:
            seen_ids[cid] = index
    seen_targets: dict[str, int] = {}
    for tgt in targets:
        if tgt.name in seen_targets:
            chk.add(f"targets[{tgt.index}].name",
                    f"duplicate target name {tgt.name!r} (also targets[{seen_targets[tgt.name]}])")
        else:
            seen_targets[tgt.name] = tgt.index


def validate_data(data: object, *, file: str, line_of: LineOf | None = None) -> Config:
    """Validate a decrypted document; raise ``ValidationError`` listing every problem found."""
    problems = ProblemList(file=file)
    chk = _Checker(problems, line_of)
    clean: dict[str, Any] | None = chk.mapping(data, ROOT_FIELDS, "")
    if clean is None:
        problems.raise_if_any()
        raise AssertionError("unreachable")  # pragma: no cover
    defaults = _defaults(chk, clean.get("defaults"))
    creds: list[Credential] = []
    identities: list[tuple[int, str, str]] = []
    for i, raw in enumerate(clean.get("credentials", [])):
        if raw is None:
            continue
        cred = _credential(chk, raw, i, defaults, file)
        if cred is not None:
            creds.append(cred)
            identities.append((i, cred.name, cred.id))
        elif isinstance(raw.get("name"), str):
            identities.append((i, raw["name"], raw.get("id") or slug(raw["name"])))
    targets: list[Target] = []
    for i, raw in enumerate(clean.get("targets", [])):
        if raw is not None:
            tgt = _target(chk, raw, i)
            if tgt is not None:
                targets.append(tgt)
    check_unique(chk, identities, targets)
    problems.items.sort(key=_by_line)
    problems.raise_if_any()
    return Config(
        version=clean["version"],
        defaults=defaults,
        credentials=tuple(creds),
        targets=tuple(targets),
        path=file,
    )


def _by_line(problem: Problem) -> int:
    return problem.line if problem.line is not None else 0


def with_lines(exc: ValidationError, line_of: LineOf) -> ValidationError:
    """The same problems, each given the line ``line_of`` finds for its field path, in file order."""
    located = [p if p.line is not None else replace(p, line=line_of(p.path)) for p in exc.problems]
    return ValidationError(sorted(located, key=_by_line))


def effective_quota_per_unit(tel: TelemetryConfig) -> float:
    return tel.quota_per_unit or DEFAULT_QUOTA_PER_UNIT
