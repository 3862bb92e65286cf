"""The three-way tree merge behind the merge driver (pure data, no sops)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from credlib.gitops.threeway import merge_documents


def cred(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "base_url": f"https://{name.lower()}.example.com", "api_key": f"k-{name}", **fields}


def doc(*creds: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"version": 1, "credentials": list(creds), **top}


BASE = doc(cred("A", tags=["x"]), cred("B"), cred("C"))


def test_different_credentials_merge() -> None:
    ours = copy.deepcopy(BASE)
    ours["credentials"][0]["notes"] = "ours"
    theirs = copy.deepcopy(BASE)
    theirs["credentials"][2]["api_key"] = "k-new"
    result = merge_documents(BASE, ours, theirs)
    assert result.conflicts == []
    assert result.data["credentials"][0]["notes"] == "ours"
    assert result.data["credentials"][2]["api_key"] == "k-new"


def test_same_credential_different_fields_merge() -> None:
    ours = copy.deepcopy(BASE)
    ours["credentials"][1]["notes"] = "n"
    theirs = copy.deepcopy(BASE)
    theirs["credentials"][1]["base_url"] = "https://moved.example.com"
    result = merge_documents(BASE, ours, theirs)
    assert result.conflicts == []
    assert result.data["credentials"][1] == {
        **cred("B"),
        "notes": "n",
        "base_url": "https://moved.example.com",
    }


def test_same_field_conflict_keeps_ours_and_redacts_secrets() -> None:
    ours = copy.deepcopy(BASE)
    ours["credentials"][1]["api_key"] = "sk-ours-0123456789abcdef"
    theirs = copy.deepcopy(BASE)
    theirs["credentials"][1]["api_key"] = "sk-theirs-0123456789abcdef"
    result = merge_documents(BASE, ours, theirs)
    [conflict] = result.conflicts
    assert conflict.path == "credentials[b].api_key" and conflict.kind == "both-changed"
    assert result.data["credentials"][1]["api_key"] == "sk-ours-0123456789abcdef"
    text = conflict.render()
    assert "sk-ours-0123456789abcdef" not in text and "sk-theirs-0123456789abcdef" not in text
    assert "sk-ou…cdef" in text


def test_additions_on_both_sides_and_order() -> None:
    ours = copy.deepcopy(BASE)
    ours["credentials"].append(cred("D"))
    theirs = copy.deepcopy(BASE)
    theirs["credentials"].insert(1, cred("E"))
    result = merge_documents(BASE, ours, theirs)
    assert [c["name"] for c in result.data["credentials"]] == ["A", "E", "B", "C", "D"]
    assert result.conflicts == []


def test_delete_vs_unchanged_and_delete_vs_change() -> None:
    ours = copy.deepcopy(BASE)
    del ours["credentials"][2]  # delete C
    ours["credentials"][1]["notes"] = "keep"  # change B
    theirs = copy.deepcopy(BASE)
    del theirs["credentials"][1]  # delete B
    result = merge_documents(BASE, ours, theirs)
    assert [c["name"] for c in result.data["credentials"]] == ["A", "B"]
    [conflict] = result.conflicts
    assert (
        conflict.path == "credentials[b]" and conflict.kind == "delete-vs-change" and conflict.kept == "ours"
    )


def test_tags_merge_as_sets() -> None:
    ours = copy.deepcopy(BASE)
    ours["credentials"][0]["tags"] = ["x", "ours"]
    theirs = copy.deepcopy(BASE)
    theirs["credentials"][0]["tags"] = ["theirs"]
    result = merge_documents(BASE, ours, theirs)
    assert result.data["credentials"][0]["tags"] == ["ours", "theirs"]


def test_both_added_same_id_with_different_values() -> None:
    ours = doc(cred("A"), cred("N", notes="ours"))
    theirs = doc(cred("A"), cred("N", notes="theirs"))
    result = merge_documents(doc(cred("A")), ours, theirs)
    assert [c.path for c in result.conflicts] == ["credentials[n].notes"]
    assert result.conflicts[0].kind == "both-added"


def test_targets_keyed_by_name() -> None:
    base = doc(cred("A"), targets=[{"name": "t1", "type": "dotenv", "path": "a"}])
    ours = copy.deepcopy(base)
    ours["targets"].append({"name": "t2", "type": "dotenv", "path": "b"})
    theirs = copy.deepcopy(base)
    theirs["targets"][0]["path"] = "c"
    result = merge_documents(base, ours, theirs)
    assert result.data["targets"] == [
        {"name": "t1", "type": "dotenv", "path": "c"},
        {"name": "t2", "type": "dotenv", "path": "b"},
    ]


names = st.sampled_from(["A", "B", "C", "D"])
edits = st.lists(
    st.tuples(names, st.sampled_from(["notes", "base_url", "api_key"]), st.text(max_size=5)), max_size=4
)


def _apply(base: dict[str, Any], changes: list[tuple[str, str, str]]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for name, field, value in changes:
        for item in out["credentials"]:
            if item["name"] == name:
                item[field] = value
    return out


@settings(max_examples=200, deadline=None)
@given(edits, edits)
def test_property_merge_is_symmetric_without_conflicts(
    ours_edits: list[Any], theirs_edits: list[Any]
) -> None:
    base = doc(cred("A"), cred("B"), cred("C"), cred("D"))
    ours, theirs = _apply(base, ours_edits), _apply(base, theirs_edits)
    forward = merge_documents(base, ours, theirs)
    backward = merge_documents(base, theirs, ours)
    if not forward.conflicts:
        assert not backward.conflicts
        assert forward.data == backward.data
        # Every change of either side survives.
        for side in (ours, theirs):
            for before, after, merged in zip(
                base["credentials"], side["credentials"], forward.data["credentials"], strict=True
            ):
                for key in after:
                    if after[key] != before.get(key):
                        assert merged[key] == after[key]
    assert merge_documents(base, ours, base).data == ours
    assert merge_documents(base, base, theirs).data == theirs
