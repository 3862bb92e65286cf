"""The plan's unified diff turns the old file into the new one, and is difflib's own where the edit
has one place; the unchanged head and tail are never handed to difflib."""

from __future__ import annotations

import difflib
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from credlib.exports.deliveries.file import trimmed_unified_diff

lines_st = st.lists(
    st.sampled_from(["a\n", "b\n", "c\n", "d\n", "{\n", "}\n", "  x: 1\n", "tail"]), max_size=40
)
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$")


def apply_patch(a: list[str], diff: str) -> list[str]:
    """Apply a unified diff strictly: every context and removed line must match ``a`` where it says."""
    out: list[str] = []
    pos = 0
    lines = diff.splitlines(keepends=True)[2:]  # after the ---/+++ header
    i = 0
    while i < len(lines):
        m = HUNK.match(lines[i].rstrip("\n"))
        assert m, lines[i]
        old_start, old_len = int(m.group(1)), int(m.group(2) or 1)
        begin = old_start - 1 if old_len else old_start
        out += a[pos:begin]
        pos = begin
        i += 1
        while i < len(lines) and not lines[i].startswith("@@ "):
            tag, text = lines[i][0], lines[i][1:]
            if tag in " -":
                assert a[pos] == text or a[pos] == text.rstrip("\n"), (pos, a[pos], text)
                pos += 1
            if tag in " +":
                out.append(text)
            i += 1
    return out + a[pos:]


@settings(max_examples=400, deadline=None)
@given(head=lines_st, old_mid=lines_st, new_mid=lines_st, tail=lines_st)
def test_the_diff_turns_old_into_new(
    head: list[str], old_mid: list[str], new_mid: list[str], tail: list[str]
) -> None:
    # Every line ends in a newline here: "\ No newline at end of file" markers are difflib's business.
    a = [ln if ln.endswith("\n") else ln + "\n" for ln in head + old_mid + tail]
    b = [ln if ln.endswith("\n") else ln + "\n" for ln in head + new_mid + tail]
    diff = trimmed_unified_diff(a, b, "f")
    if a == b:
        assert diff == ""
    else:
        assert apply_patch(a, diff) == b
        assert diff.count("\n+") - diff.count("\n+++") == len(b) - len(a) + diff.count("\n-") - diff.count(
            "\n---"
        )


def test_one_line_changed_deep_in_a_big_file_is_difflibs_diff() -> None:
    a = [f"line {i}\n" for i in range(20_000)]
    b = list(a)
    b[12_345] = "changed\n"
    out = trimmed_unified_diff(a, b, "f")
    assert out == "".join(difflib.unified_diff(a, b, fromfile="f", tofile="f"))
    assert "@@ -12343,7 +12343,7 @@" in out
