"""Render a target's template(s) for a set of credentials.

File types render once for all selected credentials into the fragment of the tool's config that
credlib owns; deep-link types render once per credential (each non-empty output line is a link);
HTTP types render a JSON document the delivery turns into API calls.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credlib.errors import CredlibError, ExitCode
from credlib.exports import formats
from credlib.exports.registry import (
    Companion,
    FileFormat,
    MergeRule,
    TargetType,
    resolve_type,
    select_credentials,
)
from credlib.model import Credential, Target
from credlib.redact import Scrubber


class TemplateError(CredlibError):
    """A template failed to compile or render; names the template file and line."""


@dataclass
class RenderedFile:
    role: str  # "main" or a companion role ("env", "settings")
    path: Path | None
    file_format: FileFormat
    text: str = field(repr=False)  # holds keys
    merge: tuple[MergeRule, ...]
    template: str
    document: Any = field(default=None, repr=False)  # the parsed fragment (parsed once, when validated)

    @property
    def plain(self) -> bool:
        """The fragment was parsed by json (built-in dicts and lists all the way down)."""
        return self.file_format in ("json", "yaml") and type(self.document) is dict

    def display(self) -> str:
        """The fragment as the tool's file format (YAML templates may render JSON, which is YAML)."""
        if self.file_format == "yaml" and self.plain:
            return formats.dump("yaml", self.document)
        if self.file_format == "json":
            # Templates render compact JSON (C encoder); people read it indented.
            return formats.dump("json", self.document)
        return self.text


@dataclass
class Rendering:
    target: Target
    ttype: TargetType
    credentials: list[Credential]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (credential name, why)
    files: list[RenderedFile] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict, repr=False)  # link id -> deep link (holds the key)
    document: Any = field(default=None, repr=False)  # http: the parsed JSON the template produced

    @property
    def secrets(self) -> list[str]:
        out = [c.api_key for c in self.credentials]
        out += [s for s in (self.target.access_token, self.target.management_key) if s]
        return out

    def text(self) -> str:
        """What `credlib export` prints: the links, or the file content(s)."""
        if self.ttype.delivery == "deeplink":
            return "".join(link + "\n" for link in self.links.values())
        if self.ttype.delivery == "http":
            return formats.dump("json", self.document)
        if len(self.files) == 1:
            return self.files[0].display()
        parts = []
        for rendered in self.files:
            marker = "#" if rendered.file_format in ("yaml", "toml", "dotenv") else "//"
            parts.append(f"{marker} --- {rendered.path} ---\n{rendered.display()}")
        return "\n".join(parts)


def credential_context(cred: Credential) -> dict[str, Any]:
    return {
        "name": cred.name,
        "id": cred.id,
        "base_url": cred.base_url,
        "api_key": cred.api_key,
        "api_type": cred.api_type,
        "tags": list(cred.tags),
        "notes": cred.notes or "",
        "models": list(cred.models),
        "default_model": cred.default_model or "",
        "expires_at": cred.expires_at or "",
    }


def _target_context(target: Target, ttype: TargetType) -> dict[str, Any]:
    return {
        "name": target.name,
        "type": target.type,
        "path": target.path or ttype.default_path or "",
        "url": target.url or "",
        "options": dict(target.options),
    }


def resolve_path(raw: str, base_dir: Path | None) -> Path:
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return path


def _check_forbidden(ttype: TargetType, target: Target, creds: Sequence[Credential]) -> None:
    if not ttype.forbidden_chars:
        return
    for cred in creds:
        for label, value in (
            ("name", cred.name),
            ("id", cred.id),
            ("base_url", cred.base_url),
            ("notes", cred.notes or ""),
            ("api_key", cred.api_key),
        ):
            bad = sorted({ch for ch in value if ch in ttype.forbidden_chars})
            if bad:
                raise CredlibError(
                    f"target {target.name!r} ({ttype.name}): credential {cred.name!r} has "
                    f"{' '.join(repr(c) for c in bad)} in its {label}; {ttype.name}'s import mangles "
                    f"the characters {ttype.forbidden_chars!r}",
                    hint="rename the credential or leave it out of this target with select",
                )


def _error_line(exc: BaseException, template_file: str) -> int | None:
    """The template line a runtime error happened on, from Jinja's rewritten traceback."""
    tb: types.TracebackType | None = exc.__traceback__
    line: int | None = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == template_file:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render_one(
    name: str, extra_dir: str | None, context: dict[str, Any], target: Target, scrub: Scrubber
) -> str:
    import jinja2

    from credlib.exports.jinja import environment

    env = environment(extra_dir)
    try:
        template = env.get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or name}:{exc.lineno}"
        raise TemplateError(
            f"target {target.name!r}: template syntax error at {where}: {scrub(exc.message or '')}",
            exit_code=ExitCode.INVALID_FILE,
        ) from None
    except jinja2.TemplateNotFound:
        raise TemplateError(
            f"target {target.name!r}: template {name} not found", exit_code=ExitCode.INVALID_FILE
        ) from None
    filename = template.filename or name
    try:
        return template.render(context)
    except Exception as exc:
        raise _render_failure(exc, filename, target, scrub) from None


def _render_failure(exc: Exception, filename: str, target: Target, scrub: Scrubber) -> TemplateError:
    """The error for a template that failed while rendering, naming its file and line."""
    import jinja2

    from credlib.exports.jinja import TemplateFailure

    line = _error_line(exc, filename)
    where = f"{filename}:{line}" if line else filename
    prefix = f"target {target.name!r}:"
    if isinstance(exc, TemplateFailure):  # the template's own fail("why")
        return TemplateError(f"{prefix} {where}: {scrub(str(exc))}")
    if isinstance(exc, jinja2.UndefinedError):
        detail = f"refers to a missing field: {scrub(str(exc))}"
    else:  # any other error inside user template code
        detail = f"failed: {type(exc).__name__}: {scrub(str(exc))}"
    return TemplateError(f"{prefix} template {where} {detail}", exit_code=ExitCode.INVALID_FILE)


def _template_source(target: Target, ttype: TargetType, base_dir: Path | None) -> tuple[str, str | None]:
    """(template name, extra search dir) for the main template: the user's own file or the shipped one."""
    if not target.template:
        return ttype.template, None
    path = resolve_path(target.template, base_dir)
    if not path.is_file():
        raise TemplateError(
            f"target {target.name!r}: template file {path} does not exist", exit_code=ExitCode.INVALID_FILE
        )
    return path.name, str(path.parent)


def _parsed(text: str, fmt: FileFormat, template: str, target: Target, scrub: Scrubber) -> Any:
    try:
        return formats.parse(fmt, text)
    except formats.FormatError as exc:
        raise TemplateError(
            f"target {target.name!r}: template {template} rendered invalid {fmt}: {scrub(str(exc))}",
            exit_code=ExitCode.INVALID_FILE,
        ) from None


def render_target(
    target: Target, credentials: Sequence[Credential], *, base_dir: Path | None = None
) -> Rendering:
    """Render ``target`` for ``credentials`` (already chosen; see ``select_credentials``).

    Credentials of API types the target type does not support are ignored; types that need a
    model list skip credentials without one and say so in ``skipped``.
    """
    ttype = resolve_type(target)
    supported = [c for c in credentials if c.api_type in ttype.supports]
    rendering = Rendering(target=target, ttype=ttype, credentials=[])
    creds: list[Credential] = []
    for cred in supported:
        if ttype.requires_models and not cred.models:
            rendering.skipped.append((cred.name, f"{ttype.name} needs at least one model; add `models:`"))
            continue
        creds.append(cred)
    if ttype.single and len(creds) > 1:
        for cred in creds[1:]:
            rendering.skipped.append(
                (cred.name, f"{ttype.name} holds one credential; using {creds[0].name!r}")
            )
        creds = creds[:1]
    rendering.credentials = creds
    scrub = Scrubber(rendering.secrets)
    _check_forbidden(ttype, target, creds)

    name, extra_dir = _template_source(target, ttype, base_dir)
    base: dict[str, Any] = {
        "target": _target_context(target, ttype),
        "options": dict(target.options),
        "family": ttype.family or "",
    }
    cred_ctx = [credential_context(c) for c in creds]

    if ttype.delivery == "deeplink":
        for cred, ctx in zip(creds, cred_ctx, strict=True):
            out = _render_one(
                name, extra_dir, {**base, "credential": ctx, "credentials": [ctx]}, target, scrub
            )
            lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
            for i, link in enumerate(lines):
                rendering.links[cred.id if i == 0 else f"{cred.id}#{i + 1}"] = link
        return rendering

    context = {**base, "credentials": cred_ctx, "credential": cred_ctx[0] if cred_ctx else None}
    text = _render_one(name, extra_dir, context, target, scrub)
    if ttype.delivery == "http":
        try:
            rendering.document = formats.parse("json", text)
        except formats.FormatError as exc:
            raise TemplateError(
                f"target {target.name!r}: template {name} rendered invalid JSON: {scrub(str(exc))}",
                exit_code=ExitCode.INVALID_FILE,
            ) from None
        return rendering

    assert ttype.file_format is not None
    raw_path = target.path or ttype.default_path
    main_path = resolve_path(raw_path, base_dir) if raw_path else None
    rendering.files.append(
        RenderedFile(
            "main",
            main_path,
            ttype.file_format,
            text,
            ttype.merge,
            name,
            _parsed(text, ttype.file_format, name, target, scrub),
        )
    )
    for comp in ttype.companions:
        rendering.files.append(_render_companion(comp, target, main_path, context, base_dir, scrub))
    return rendering


def _render_companion(
    comp: Companion,
    target: Target,
    main_path: Path | None,
    context: dict[str, Any],
    base_dir: Path | None,
    scrub: Scrubber,
) -> RenderedFile:
    override = target.options.get(comp.path_option)
    if override:
        path: Path | None = resolve_path(str(override), base_dir)
    else:
        path = main_path.parent / comp.default_name if main_path else None
    text = _render_one(comp.template, None, context, target, scrub)
    return RenderedFile(
        comp.role,
        path,
        comp.file_format,
        text,
        comp.merge,
        comp.template,
        _parsed(text, comp.file_format, comp.template, target, scrub),
    )


def render_for(
    target: Target, credentials: Sequence[Credential], *, base_dir: Path | None = None
) -> Rendering:
    """Select then render: the common path for plan/apply."""
    return render_target(target, select_credentials(target, credentials), base_dir=base_dir)
