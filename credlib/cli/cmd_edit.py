"""`credlib edit`: the decrypted file in $EDITOR through sops; validated on save, re-opened on error."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import click

from credlib.cli.context import AppContext
from credlib.cli.options import json_option
from credlib.errors import CredlibError, ExitCode, UsageError


def user_editor() -> str:
    for var in ("VISUAL", "EDITOR"):
        value = os.environ.get(var, "").strip()
        if value:
            return value
    for name in ("nano", "vim", "vi"):
        if shutil.which(name):
            return name
    raise UsageError("no editor found: set $EDITOR (e.g. `export EDITOR=nano`, `EDITOR='code --wait'`)")


def edit_file(path: Path) -> bool:
    """Run the validating edit; True when the file changed. Raises when the user gave up on errors."""
    from credlib import sops, store

    target = store.files_of(path)[0] if not path.is_dir() else None
    if target is None:
        raise UsageError(f"{path} is a directory; pass one of its files with -f")
    editor = user_editor()
    status_dir = Path(tempfile.mkdtemp(prefix="credlib-edit-"))
    status = status_dir / "status"
    try:
        changed = sops.edit_interactive(target, status_file=status, editor=editor)
        outcome = status.read_text(encoding="utf-8") if status.exists() else ""
    finally:
        shutil.rmtree(status_dir, ignore_errors=True)
    if outcome.startswith("invalid"):
        details = outcome.split("\n", 1)[1].strip() if "\n" in outcome else ""
        raise CredlibError(
            f"the edited file did not validate; {target} was left unchanged\n  "
            + details.replace("\n", "\n  "),
            exit_code=ExitCode.INVALID_FILE,
        )
    if outcome.startswith("editor-failed"):
        raise CredlibError(f"the editor failed; {target} was left unchanged", exit_code=ExitCode.USAGE)
    return changed


@click.command()
@json_option
@click.pass_obj
def edit(app: AppContext, as_json: bool) -> None:
    """Open the decrypted file in $EDITOR (through sops); validate on save and re-open on error.

    Only sops' own private (0600) buffer ever holds the plaintext. Unchanged values keep their
    ciphertext, so `git diff` shows only what you changed.
    """
    from credlib.output import echo_err, emit_json

    changed = edit_file(Path(app.file).expanduser())
    if as_json:
        emit_json({"file": app.file, "changed": changed})
    elif changed:
        echo_err(f"saved {app.file}")
    else:
        echo_err("no changes")
