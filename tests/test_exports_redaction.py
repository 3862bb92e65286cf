"""scrub_secrets: every known key in a diff is replaced by its redacted form, wherever it sits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from credlib.exports.redaction import scrub_secrets
from credlib.redact import redact_key
from tests.fixtures.env import fake_key

KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
keys_st = st.lists(
    st.text(KEY_CHARS, min_size=16, max_size=60).map(lambda s: "sk-" + s), min_size=1, max_size=5
)
filler_st = st.text(KEY_CHARS + ' .:/"{}=\n', max_size=40)


@settings(max_examples=200, deadline=None)
@given(keys=keys_st, fillers=st.lists(filler_st, min_size=1, max_size=6), data=st.data())
def test_no_key_survives_wherever_it_is_glued(
    keys: list[str], fillers: list[str], data: st.DataObject
) -> None:
    parts = []
    for filler in fillers:
        parts += [filler, data.draw(st.sampled_from(keys))]
    text = "".join(parts)
    out = scrub_secrets(text, keys)
    for key in keys:
        assert key not in out


def test_short_tokens_are_left_alone_and_keys_are_redacted_in_place() -> None:
    key = fake_key()
    text = f'url: https://relay.example.com/v1\napi_key: "{key}"\nmodel: gpt-4o-mini\n{key}{key}\n'
    out = scrub_secrets(text, [key])
    assert out == (
        f'url: https://relay.example.com/v1\napi_key: "{redact_key(key)}"\nmodel: gpt-4o-mini\n'
        f"{redact_key(key)}{redact_key(key)}\n"
    )
