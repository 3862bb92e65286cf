"""The fast line reader `check` uses: same values and lines as ruamel, or it steps aside."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credlib.gitops import blockyaml
from credlib.gitops.check import _to_python, _Walk, check_paths
from tests.fixtures.env import fake_key
from tests.fixtures.git import sample_data


def _ruamel(text: str) -> tuple[Any, dict[str, int]]:
    from ruamel.yaml import YAML

    walk = _Walk()
    return _to_python(YAML(typ="rt", pure=True).load(text), "", walk, None), walk.lines


def _same_as_ruamel_or_unsupported(text: str) -> bool:
    """True when the fast reader handled ``text`` (and then it must agree with ruamel exactly)."""
    try:
        parsed = blockyaml.parse(text)
    except blockyaml.Unsupported:
        return False
    want_root, want_lines = _ruamel(text)
    assert parsed.root == want_root, text
    assert {k: v for k, v in parsed.lines.items() if k in want_lines} == want_lines, text
    for a, b in zip(_leaves(parsed.root), _leaves(want_root), strict=True):
        assert type(a) is type(b), (text, a, b)
    return True


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [x for v in node.values() for x in _leaves(v)]
    if isinstance(node, list):
        return [x for v in node for x in _leaves(v)]
    return [node]


def test_sops_written_file_takes_the_fast_path(encrypted_file: Callable[..., Path]) -> None:
    keys = {f"Relay {i}": fake_key() for i in range(4)}
    data = sample_data(keys, n=4)
    data["credentials"][0]["notes"] = "line one\nline two: with colon # and hash"
    data["credentials"][1]["notes"] = 'it\'s "quoted" \\ back\tslash é'
    data["credentials"][2]["tags"] = []
    data["credentials"][3]["telemetry"] = {"enabled": False, "timeout_s": 2.5}
    path = encrypted_file(data)
    assert _same_as_ruamel_or_unsupported(path.read_text())


def test_check_on_a_sops_file_never_needs_ruamels_loader(
    encrypted_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-commit speed comes from this: a file sops wrote is read line by line (bench/bench_check.py)."""
    from ruamel.yaml import YAML

    path = encrypted_file(sample_data({f"Relay {i}": fake_key() for i in range(50)}, n=50))

    original = YAML.load

    def refuse(self: Any, stream: Any) -> Any:
        # `.sops.yaml` (a few lines) may still go through ruamel; the credentials file must not.
        if isinstance(stream, str) and "credentials:" in stream:
            raise AssertionError("ruamel loader used for the credentials file")
        return original(self, stream)

    monkeypatch.setattr(YAML, "load", refuse)
    [result] = check_paths([path])
    assert result.ok, [f.render() for f in result.findings]


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [1, 2]\n",  # flow collection
        "a: &x 1\nb: *x\n",  # anchors
        "a: !!str 1\n",  # tag
        "a: 2024-01-01\n",  # timestamp
        "a: 0x1f\n",  # int spelled otherwise
        "a: 012\n",
        "a: .inf\n",
        "a: this is\n  continued\n",  # multi-line plain scalar
        "a: 'one\n  two'\n",
        "---\na: 1\n",
        "a: 1\na: 2\n",  # duplicate key (ruamel refuses it)
        "- a\n- b\n",  # not a mapping
        "a:\n\tb: 1\n",
        "a: >\n  folded\n",
        "1: x\n",
        "true: x\n",
        "? a\n: b\n",
        "a: b: c\n",
        "a:\n  - x\n  y: 1\n",
        "a: |+\n  keep\n\n",
        "a:\n  - - nested\n",
        "a: 'x'#c\n",  # a comment needs a space before it: ruamel refuses this
        'a: "\\e"\n',  # an escape the reader does not know
        "\ufeffa: 1\n",  # byte-order mark
        "a: x\u2028y\n",  # a line break for YAML 1.1 readers
        "a: \x07\n",  # non-printable: ruamel refuses it
        "a: |\n  x\n   \n  y\n",  # spaces on an empty literal line
    ],
)
def test_outside_the_subset_it_steps_aside(text: str) -> None:
    with pytest.raises(blockyaml.Unsupported):
        blockyaml.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: -2\nc: 1.5\nd: true\ne: False\nf: null\ng: ~\nh:\ni: ''\nj: \"x\\ny\"\n",
        "a: 3.11.0\nb: yes\nc: no\nd: on\n",  # YAML 1.2: these are strings
        "# head\na: # trailing\n    b: c # comment\n    d:\n        - e\n        - f: g\n          h: i\n",
        "a:\n- x\n- y\nb: z\n",  # indentless sequence
        "a: |\n    line 1\n\n    # not a comment\n    line 3\n\n\nb: 1\n",
        "a: |-\n  x\n  y\n",
        "a: []\nb: {}\n'quoted key': 1\n\"dq\": 2\n",
        "a:\n  -\n    b: 1\n  - c\n",
        "url: https://x.example.com/v1#frag\nnote: a#b\n",
        'a: \'x\' # c\nb: "\\u00e9\\x41\\"" # c\n',
    ],
)
def test_inside_the_subset_it_agrees_with_ruamel(text: str) -> None:
    assert _same_as_ruamel_or_unsupported(text)  # handled by the fast reader, and equal to ruamel


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30),
    st.sampled_from(["sk-abc", "ENC[AES256_GCM,data:aGk=,iv:aa==,tag:bb==,type:str]", "#x", "a: b", "- c"]),
)
_keys = st.text(st.characters(codec="ascii", categories=("L", "N", "P", "Zs")), min_size=1, max_size=12)
_trees = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tree=st.dictionaries(_keys, _trees, min_size=1, max_size=5),
    # (mapping indent, sequence offset): (4, 4) is how sops lays out its YAML ("    - name: x").
    indent=st.sampled_from([(2, 0), (4, 2), (4, 4)]),
)
def test_random_documents_agree_with_ruamel(tree: dict[str, Any], indent: tuple[int, int]) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.indent(mapping=indent[0], sequence=indent[1] + 2, offset=indent[1])
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(tree, out)
    _same_as_ruamel_or_unsupported(out.getvalue())


def test_load_yaml_plain_gives_what_ruamels_safe_loader_gives(encrypted_file: Callable[..., Path]) -> None:
    """textconv, merge and recipients read whole credentials files through this: same result, faster."""
    from ruamel.yaml import YAML

    from credlib.gitops.sopsmeta import load_yaml_plain

    text = encrypted_file(sample_data({f"Relay {i}": fake_key() for i in range(5)}, n=5)).read_text()
    blockyaml.parse(text)  # the fast path applies
    assert load_yaml_plain(text) == YAML(typ="safe", pure=True).load(text)
    odd = "when: 2024-01-01\nlist: [1, 2]\n"  # outside the subset: the full loader answers
    assert load_yaml_plain(odd) == YAML(typ="safe", pure=True).load(odd)
