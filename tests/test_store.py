"""The store: loading (file or credentials.d/), and the write API with minimal git diffs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from credlib import sops, store
from credlib.errors import ExitCode, FileAccessError, NotFoundError, UsageError, ValidationError
from tests.fixtures.env import AgeIdentity, fake_key, write_sops_config
from tests.fixtures.store import diff_lines, git, git_init_commit


def cred(name: str, key: str | None = None, **extra: Any) -> dict[str, Any]:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower())
    return {"name": name, "base_url": f"https://{slug}.example.com", "api_key": key or fake_key(), **extra}


@pytest.fixture
def project(tmp_path: Path, age_identity: AgeIdentity) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir()
    write_sops_config(proj, [age_identity.recipient])
    return proj


@pytest.fixture
def cfile(project: Path) -> Path:
    path = project / "credentials.yaml"
    store.create_file(path, {"version": 1, "credentials": []})
    store.add_credentials(path, [cred("Alpha", notes="first note", tags=["work"]), cred("Beta")])
    return path


def test_create_file_has_modeline_and_never_overwrites(project: Path) -> None:
    path = project / "credentials.yaml"
    store.create_file(path, {"version": 1, "credentials": []})
    text = path.read_text()
    assert text.startswith(store.MODELINE + "\n")
    assert store.load_config(path).credentials == ()
    with pytest.raises(FileAccessError, match="never overwrites"):
        store.create_file(path, {"version": 1})
    assert path.read_text() == text


def test_create_file_validates_first(project: Path) -> None:
    with pytest.raises(ValidationError):
        store.create_file(project / "credentials.yaml", {"version": 1, "credentials": [{"name": "x"}]})
    assert not (project / "credentials.yaml").exists()


def test_add_and_load(cfile: Path) -> None:
    key = fake_key()
    assert store.add_credentials(cfile, [cred("Gamma", key, base_url="gamma.example.com/v1/")]) == 1
    cfg = store.load_config(cfile)
    assert [c.name for c in cfg.credentials] == ["Alpha", "Beta", "Gamma"]
    gamma = cfg.find("gamma")
    assert gamma is not None and gamma.api_key == key
    assert gamma.base_url == "https://gamma.example.com"
    # Stored normalized, key encrypted.
    text = cfile.read_text()
    assert "base_url: https://gamma.example.com\n" in text
    assert key not in text


def test_add_rejects_duplicates_and_bad_items_leaving_file_identical(cfile: Path) -> None:
    before = cfile.read_bytes()
    for bad in (
        [cred("alpha")],  # duplicate name (case-insensitive)
        [cred("Delta", id="beta")],  # duplicate id
        [cred("Delta", base_url="ftp://x")],
        [cred("Delta", key="   ")],
        [cred("Delta", colour="red")],
    ):
        with pytest.raises(ValidationError):
            store.add_credentials(cfile, bad)
        assert cfile.read_bytes() == before


def test_add_keeps_comments(project: Path, age_identity: AgeIdentity) -> None:
    path = project / "credentials.yaml"
    text = (
        "# yaml-language-server: $schema=./credlib.schema.json\n"
        "# Team credentials\n"
        "version: 1\n"
        "credentials:\n"
        "    # the relay everyone uses\n"
        "    - name: Relay\n"
        "      base_url: https://relay.example.com\n"
        f"      api_key: {fake_key()}\n"
    )
    sops.encrypt_new(path, text)
    store.add_credentials(path, [cred("Second")])
    out = path.read_text()
    assert "# Team credentials" in out and "# the relay everyone uses" in out
    assert [c.name for c in store.load_config(path).credentials] == ["Relay", "Second"]


def test_remove(cfile: Path) -> None:
    removed = store.remove_credential(cfile, "ALPHA")
    assert removed.name == "Alpha"
    assert [c.name for c in store.load_config(cfile).credentials] == ["Beta"]
    before = cfile.read_bytes()
    with pytest.raises(NotFoundError) as info:
        store.remove_credential(cfile, "nope")
    assert info.value.exit_code == ExitCode.NOT_FOUND
    assert cfile.read_bytes() == before


def test_rename_keeps_id(cfile: Path) -> None:
    store.rename_credential(cfile, "Alpha", "Alpha Prime")
    cfg = store.load_config(cfile)
    renamed = cfg.find("Alpha Prime")
    assert renamed is not None and renamed.id == "alpha"
    # Renaming to a name whose slug is the id needs no pinned id (and none is added).
    store.rename_credential(cfile, "Beta", "BETA")
    assert "id: beta" not in cfile.read_text()
    before = cfile.read_bytes()
    with pytest.raises(ValidationError):
        store.rename_credential(cfile, "BETA", "alpha prime")
    with pytest.raises(UsageError):
        store.rename_credential(cfile, "BETA", "  ")
    assert cfile.read_bytes() == before


def test_set_fields(cfile: Path) -> None:
    store.set_field(cfile, "Alpha", "notes", "changed")
    store.set_field(cfile, "Alpha", "tags", "a, b")
    store.set_field(cfile, "Alpha", "models", "m1,m2")
    store.set_field(cfile, "Alpha", "base_url", "https://new.example.com/v1/chat/completions")
    store.set_field(cfile, "Alpha", "telemetry.endpoint", "/api/usage")
    store.set_field(cfile, "Alpha", "telemetry.mapping.balance", "data.balance")
    store.set_field(cfile, "Alpha", "telemetry.method", "custom")
    store.set_field(cfile, "Beta", "expires_at", "2027-01-31")
    store.set_field(cfile, "Beta", "api_type", "anthropic")
    key = fake_key()
    store.set_field(cfile, "Beta", "api_key", key)
    cfg = store.load_config(cfile)
    alpha, beta = cfg.credentials
    assert alpha.notes == "changed" and alpha.tags == ("a", "b") and alpha.models == ("m1", "m2")
    assert alpha.base_url == "https://new.example.com"
    assert alpha.telemetry.method == "custom" and alpha.telemetry.mapping == {"balance": "data.balance"}
    assert beta.expires_at == "2027-01-31" and beta.api_type == "anthropic" and beta.api_key == key
    store.set_field(cfile, "Alpha", "notes", None)
    assert store.load_config(cfile).credentials[0].notes is None


def test_set_rejects_bad_values_leaving_file_identical(cfile: Path) -> None:
    before = cfile.read_bytes()
    cases: list[tuple[str, object, type[Exception]]] = [
        ("base_url", "ftp://x", ValidationError),
        ("api_key", "", ValidationError),
        ("api_type", "azure", ValidationError),
        ("colour", "red", UsageError),
        ("telemetry.mapping.wealth", "x", UsageError),
        ("telemetry.endpoint", "https://evil.example.com/u", ValidationError),
        ("name", "Beta", ValidationError),
        ("name", None, ValidationError),
        ("telemetry", "x", UsageError),
    ]
    for field, value, exc in cases:
        with pytest.raises(exc):
            store.set_field(cfile, "Alpha", field, value)
        assert cfile.read_bytes() == before, field


def test_set_same_value_is_a_no_op(cfile: Path) -> None:
    before = cfile.read_bytes()
    store.set_field(cfile, "Alpha", "notes", "first note")
    assert cfile.read_bytes() == before


def test_git_diff_set_notes_touches_only_that_line(cfile: Path) -> None:
    proj = cfile.parent
    git_init_commit(proj)
    store.set_field(cfile, "Alpha", "notes", "a better note")
    assert diff_lines(proj, cfile.name) == [
        "-    notes: first note",
        "+    notes: a better note",
    ] or diff_lines(proj, cfile.name) == ["-      notes: first note", "+      notes: a better note"]
    git(proj, "commit", "-qam", "notes")
    # Other plain scalars behave the same: one line, no lastmodified/mac change.
    store.set_field(cfile, "Beta", "base_url", "https://beta2.example.com")
    changed = diff_lines(proj, cfile.name)
    assert len(changed) == 2 and all("base_url:" in line for line in changed)


def test_git_diff_change_key_touches_key_lastmodified_mac(cfile: Path) -> None:
    proj = cfile.parent
    git_init_commit(proj)
    store.set_field(cfile, "Beta", "api_key", fake_key())
    changed = diff_lines(proj, cfile.name)
    fields = sorted({re.sub(r"^[+-]\s*", "", line).split(":")[0] for line in changed})
    assert set(fields) <= {"api_key", "lastmodified", "mac"}
    assert "api_key" in fields and "mac" in fields
    assert sum(1 for line in changed if "api_key:" in line) == 2  # exactly one key line, - and +


def test_git_diff_key_change_with_comments_uses_edit_and_stays_minimal(project: Path) -> None:
    path = project / "credentials.yaml"
    text = (
        "version: 1\ncredentials:\n"
        "    # a comment sops would count as a list item\n"
        f"    - name: One\n      base_url: https://one.example.com\n      api_key: {fake_key()}\n"
        f"    - name: Two\n      base_url: https://two.example.com\n      api_key: {fake_key()}\n"
    )
    sops.encrypt_new(path, text)
    git_init_commit(project)
    new = fake_key()
    store.set_field(path, "Two", "api_key", new)
    cfg = store.load_config(path)
    assert cfg.credentials[1].api_key == new
    fields = {re.sub(r"^[+-]\s*", "", line).split(":")[0] for line in diff_lines(project, path.name)}
    assert fields <= {"api_key", "lastmodified", "mac"}


def test_load_errors_have_lines(project: Path, encrypted_file: Any) -> None:
    path = encrypted_file(
        {"version": 1, "credentials": [cred("A"), cred("a"), {**cred("C"), "base_url": "ftp://c"}]},
        directory=project,
    )
    with pytest.raises(ValidationError) as info:
        store.load_config(path)
    problems = {(p.path, p.line) for p in info.value.problems}
    text_lines = path.read_text().splitlines()
    for field_path, line in problems:
        assert line is not None
        assert field_path.split(".")[-1] in text_lines[line - 1]
    assert {p for p, _ in problems} == {"credentials[1].name", "credentials[2].base_url"}


def test_directory_layout(project: Path, age_identity: AgeIdentity) -> None:
    d = project / "credentials.d"
    d.mkdir()
    store.create_file(d / "work.yaml", {"version": 1, "credentials": [cred("Work")]})
    store.create_file(d / "home.yaml", {"version": 1, "credentials": [cred("Home")]})
    cfg = store.load_config(d)
    assert sorted(c.name for c in cfg.credentials) == ["Home", "Work"]
    assert {Path(c.source_file).name for c in cfg.credentials} == {"home.yaml", "work.yaml"}
    # Writes go to the file that holds the credential.
    store.set_field(d, "Home", "notes", "at home")
    assert "notes: at home" in (d / "home.yaml").read_text()
    # Names are unique across files.
    before = (d / "work.yaml").read_bytes()
    with pytest.raises(ValidationError):
        store.add_credentials(d, [cred("home")])
    assert (d / "work.yaml").read_bytes() == before


def test_directory_duplicates_across_files(project: Path, age_identity: AgeIdentity) -> None:
    d = project / "credentials.d"
    d.mkdir()
    store.create_file(d / "a.yaml", {"version": 1, "credentials": [cred("Same")]})
    store.create_file(d / "b.yaml", {"version": 1, "credentials": [cred("same")]})
    with pytest.raises(ValidationError) as info:
        store.load_config(d)
    assert "duplicate name" in str(info.value) and "a.yaml" in str(info.value)


def test_missing_file_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(FileAccessError, match="does not exist") as info:
        store.load_config(tmp_path / "credentials.yaml")
    assert "credlib init" in info.value.hint
    with pytest.raises(FileAccessError, match=r"no \*\.yaml"):
        store.load_config(tmp_path)


def test_add_puts_modeline_on_a_file_without_one(project: Path) -> None:
    path = project / "credentials.yaml"
    sops.encrypt_new(path, {"version": 1, "credentials": [cred("First")]})
    assert not path.read_text().startswith("# yaml-language-server")
    store.add_credentials(path, [cred("Second")])
    assert path.read_text().startswith(store.MODELINE + "\n")
    store.add_credentials(path, [cred("Third")])
    assert path.read_text().count("yaml-language-server") == 1


def test_set_name_is_a_rename_that_keeps_the_id(cfile: Path) -> None:
    store.set_field(cfile, "Alpha", "name", "Completely Different")
    renamed = store.load_config(cfile).find("completely different")
    assert renamed is not None and renamed.id == "alpha"
