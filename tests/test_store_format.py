"""credlib and sops format the file the same way, so neither churns the other's output (SPEC §1).

credlib writes a plain single-line value by splicing that one line (no sops run); sops re-emits the
whole document whenever it writes. For values that need quoting, escaping or look like other YAML
types, the file credlib leaves must be exactly the file sops leaves after setting the same value,
apart from the two lines only sops changes (``lastmodified`` and ``mac``).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from credlib import sops, store
from credlib.yamledit import scalar_text
from tests.fixtures.env import AgeIdentity, encrypt_data, fake_key, write_sops_config

TRICKY = [
    "plain words",
    "key: value",
    "# not a comment",
    "trailing #hash",
    "yes",
    "null",
    "123",
    "0x1F",
    "2027-01-31",
    "  leading and trailing  ",
    'it\'s "quoted"',
    "tab\there",
    "日本語のメモ",
    "- dash",
    "[bracket",
    "@at",
    "%percent",
]


def _without_sops_stamps(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.lstrip().startswith(("lastmodified:", "mac:"))]


@pytest.fixture
def base_file(tmp_path: Path, age_identity: AgeIdentity) -> Path:
    write_sops_config(tmp_path, [age_identity.recipient])
    path = tmp_path / "credentials.yaml"
    store.create_file(path, {"version": 1, "credentials": []})
    store.add_credentials(
        path,
        [
            {"name": "Alpha", "base_url": "https://a.example.com", "api_key": fake_key(), "notes": "first"},
            {"name": "Beta", "base_url": "https://b.example.com", "api_key": fake_key()},
        ],
    )
    return path


@pytest.mark.parametrize("value", TRICKY, ids=[repr(v) for v in TRICKY])
def test_credlib_splice_equals_sops_emission(base_file: Path, value: str) -> None:
    by_sops = base_file.with_name("credentials.sops.yaml")
    shutil.copy2(base_file, by_sops)
    before = base_file.read_text()
    store.set_field(base_file, "Alpha", "notes", value)  # the in-place splice
    after = base_file.read_text()
    assert "lastmodified" in after and _without_sops_stamps(after) != _without_sops_stamps(before)
    assert after.count("\n") == before.count("\n"), "the splice changed more than one line"
    # sops re-emits the whole file (credlib stores a value from the command line trimmed)
    sops.set_value(by_sops, ["credentials", 0, "notes"], value.strip())
    assert _without_sops_stamps(after) == _without_sops_stamps(by_sops.read_text())
    assert store.load_config(base_file).credentials[0].notes == value.strip()


def _batch(count: int) -> list[str]:
    """Deterministic strings built from the characters that decide go-yaml's quoting style."""
    rng = random.Random(20261204)  # noqa: S311 - reproducible test data, not a secret
    pieces = [*"abcXYZ019 -:#'\"[]{},&*!|>%@`?~.\\/\t", "é", "日本", "ü", "ß", " #", ": ", "yes", "null"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))) for _ in range(count)] + [
        "x" * 50 + " long line with spaces " * 8,
        "@",
        "?x",
        "? x",
        ":x",
        "-x",
        "x:",
        "x #y",
        "a'b",
        "'",
    ]


def test_scalar_text_is_what_sops_writes(tmp_path: Path, age_identity: AgeIdentity) -> None:
    """One real sops run writes hundreds of notes; each line credlib would write must be sops' line."""
    values = [v for v in dict.fromkeys(_batch(400)) if v.strip()]
    doc = {
        "version": 1,
        "credentials": [
            {"name": f"c{i}", "base_url": "https://x.example.com", "api_key": fake_key(), "notes": v}
            for i, v in enumerate(values)
        ],
    }
    path = encrypt_data(tmp_path / "credentials.yaml", doc, [age_identity.recipient])
    written = [line for line in path.read_text().splitlines() if line.startswith("      notes:")]
    assert len(written) == len(values)
    predicted = 0
    for value, line in zip(values, written, strict=True):
        emitted = scalar_text(value)
        if emitted is not None:
            predicted += 1
            assert line == f"      notes: {emitted}", value
    assert predicted > len(values) * 0.8  # the shortcut covers most text people write


def test_a_later_sops_write_leaves_credlib_lines_alone(base_file: Path) -> None:
    """The user-visible property: after `set NAME notes '…'`, the next key change (sops rewrites the whole
    file) shows in `git diff` as the key, `lastmodified` and `mac` only."""
    from tests.fixtures.store import diff_lines, git, git_init_commit

    store.set_field(base_file, "Alpha", "tags", "a, b")  # structural: sops writes this one itself
    store.set_field(base_file, "Alpha", "notes", "@team: 日本語")  # spliced by credlib
    store.set_field(base_file, "Beta", "base_url", "https://b.example.com/api")  # spliced by credlib
    git_init_commit(base_file.parent)
    store.set_field(base_file, "Beta", "api_key", fake_key())
    changed = {line[1:].strip().split(":")[0] for line in diff_lines(base_file.parent, base_file.name)}
    # lastmodified has a resolution of one second: it may equal the last write's.
    assert {"api_key", "mac"} <= changed <= {"api_key", "lastmodified", "mac"}, git(base_file.parent, "diff")
