"""Output helpers: the JSON envelope, plain tables, quiet progress, the credential shape, search folding."""

from __future__ import annotations

import json

import pytest

from credlib.model import Credential, TelemetryConfig
from credlib.output import Progress, credential_dict, display_width, emit_json, render_table
from credlib.search import fold, search


def test_emit_json_envelope(capsys: pytest.CaptureFixture[str]) -> None:
    emit_json({"results": [1], "format_version": 99})
    out = json.loads(capsys.readouterr().out)
    assert out == {"format_version": 1, "results": [1]}


def test_render_table_aligns_wide_characters() -> None:
    text = render_table(["NAME", "URL"], [["Ｐersonal", "https://p"], ["A", "https://a"]])
    lines = text.splitlines()
    assert [display_width(line.split("https")[0]) for line in lines[1:]] == [11, 11]
    assert lines[0].startswith("NAME")


def test_progress_is_silent_for_short_runs(capsys: pytest.CaptureFixture[str]) -> None:
    bar = Progress(3, "work", delay_s=60)
    for _ in range(3):
        bar.advance()
    bar.close()
    assert bar.done == 3
    assert capsys.readouterr().err == ""


def _cred(**kw: object) -> Credential:
    base: dict[str, object] = {
        "name": "Relay",
        "id": "relay",
        "base_url": "https://r.example.com",
        "api_key": "sk-abcdefghijklmnop1234",
    }
    base.update(kw)
    return Credential(**base)  # type: ignore[arg-type]


def test_credential_dict_redacts_unless_revealed() -> None:
    cred = _cred(
        telemetry=TelemetryConfig(
            method="custom", endpoint="/u", mapping={"balance": "b"}, bearer_token="tok-secret-123456789"
        )
    )
    shown = credential_dict(cred)
    assert shown["api_key"] == "sk-ab…1234"
    assert shown["telemetry"]["bearer_token"] == "tok-s…6789"
    assert "sk-abcdefghijklmnop1234" not in json.dumps(shown, ensure_ascii=False)
    assert credential_dict(cred, reveal=True)["api_key"] == "sk-abcdefghijklmnop1234"


def test_search_folds_width_case_and_spaces() -> None:
    creds = [_cred(notes="Only  Claude"), _cred(name="Other", id="o", tags=("ｗｏｒｋ",))]
    assert fold("ＣＬＡＵＤＥ  Models") == "claude models"
    assert [c.name for c in search(creds, "only claude")] == ["Relay"]
    assert [c.name for c in search(creds, tags=["WORK"])] == ["Other"]
    assert search(creds, "sk-abc") == []  # the key is never searched


def test_long_tables_skip_rich_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import credlib.output as output

    monkeypatch.setattr(output, "_is_tty", lambda stream: True)
    headers = ["NAME", "URL"]
    short = [["a", "https://a"]]
    output.print_table(headers, short)
    assert capsys.readouterr().out != render_table(headers, short) + "\n"  # drawn by rich
    long = [[f"n{i}", f"https://{i}.example"] for i in range(output.RICH_MAX_ROWS + 1)]
    output.print_table(headers, long)
    assert capsys.readouterr().out == render_table(headers, long) + "\n"
