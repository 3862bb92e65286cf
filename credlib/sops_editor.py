"""The editor credlib gives sops as ``SOPS_EDITOR`` (run by sops as ``… <buffer path>``).

``pipe`` mode (batch changes, ``credlib.sops.edit_with``): send sops' decrypted buffer to credlib
over our stdout (sops' stdout, a pipe to credlib), read the replacement from our stdin (sops' stdin,
a pipe from credlib) and write it into the buffer. A reply of ``-1`` leaves the buffer untouched,
so sops exits 200 "not changed" and writes nothing.

``interactive`` mode (``credlib edit``): run the user's editor on the buffer, validate the result
against the credentials schema, and re-open the editor until it validates or the user gives up; on
giving up, restore the buffer (sops then writes nothing) and record that in ``CREDLIB_EDIT_STATUS``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

MAGIC = b"CREDLIB-EDIT "


def _pipe(buffer: Path) -> int:
    raw = buffer.read_bytes()
    out = sys.stdout.buffer
    out.write(MAGIC + str(len(raw)).encode() + b"\n" + raw)
    out.flush()
    header = sys.stdin.buffer.readline()
    if not header.startswith(MAGIC):
        return 1
    size = int(header[len(MAGIC):].strip())
    if size < 0:
        return 0
    data = sys.stdin.buffer.read(size)
    if len(data) != size:
        return 1
    # Write in place: sops reads the buffer back by path after we exit; keeps its 0600 mode.
    with open(buffer, "r+b") as fh:
        fh.write(data)
        fh.truncate()
    return 0


def problems_in(text: str, file: str) -> list[str]:
    """Every problem of an edited buffer, rendered (empty when it validates)."""
    from credlib.errors import ValidationError
    from credlib.validate import validate_data
    from credlib.yamledit import line_locator, load_plain

    try:
        data = load_plain(text)
    except ValueError as exc:
        return [f"{file}: {exc}"]
    try:
        validate_data(data, file=file, line_of=line_locator(text))
    except ValidationError as exc:
        return [p.render() for p in exc.problems]
    return []


def normalize_base_urls(text: str) -> str:
    """Store every base_url in its normalized form (SPEC §2), touching only those lines."""
    from credlib.urls import normalize_base_url
    from credlib.yamledit import load_plain, splice_scalar

    data = load_plain(text)
    for i, item in enumerate(data.get("credentials") or []):
        url = item.get("base_url")
        try:
            wanted = normalize_base_url(url, item.get("api_type", "openai-compatible"))
        except ValueError:
            continue
        if wanted != url:
            text = splice_scalar(text, ["credentials", i, "base_url"], wanted) or text
    return text


def _ask_reopen() -> bool:
    # sops hands its stdin (the user's terminal) to the editor, so the question goes there.
    if not sys.stdin.isatty():
        return False  # nobody to ask (scripted or piped run): give up and leave the file as it was
    sys.stderr.write("Re-open the editor to fix it? [Y/n] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer:
        return False  # end of input
    return answer.strip().lower() in ("", "y", "yes")


def _interactive(buffer: Path) -> int:
    editor = os.environ.get("CREDLIB_USER_EDITOR") or "vi"
    status = os.environ.get("CREDLIB_EDIT_STATUS")
    shown_name = os.environ.get("CREDLIB_EDIT_FILE") or buffer.name
    original = buffer.read_bytes()
    while True:
        rc = subprocess.call([*shlex.split(editor), str(buffer)])
        if rc != 0:
            sys.stderr.write(f"credlib: the editor exited with status {rc}; nothing was saved\n")
            buffer.write_bytes(original)
            _record(status, "editor-failed")
            return 0
        text = buffer.read_text(encoding="utf-8", errors="replace")
        problems = problems_in(text, shown_name)
        if not problems:
            normalized = normalize_base_urls(text)
            if normalized != text:
                buffer.write_text(normalized, encoding="utf-8")
            return 0
        if sys.stdin.isatty():  # otherwise credlib itself reports them once sops has exited
            sys.stderr.write("credlib: the edited file does not validate:\n")
            for line in problems:
                sys.stderr.write(f"  {line}\n")
        if not _ask_reopen():
            buffer.write_bytes(original)
            _record(status, "invalid:\n" + "\n".join(problems))
            return 0


def _record(status: str | None, text: str) -> None:
    if status:
        Path(status).write_text(text + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("pipe", "interactive"):
        sys.stderr.write("usage: python -m credlib.sops_editor pipe|interactive FILE\n")
        return 2
    buffer = Path(argv[-1])
    if argv[0] == "pipe":
        return _pipe(buffer)
    return _interactive(buffer)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
