"""`-v` shows credlib's log lines on stderr, and no key reaches them (messages and tracebacks)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from credlib.logsetup import configure
from credlib.redact import redact_key, remember
from credlib.relay import Relay
from tests.fixtures.env import fake_key
from tests.fixtures.store import run_credlib


def test_log_lines_and_tracebacks_are_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    key = fake_key()
    remember([key])
    configure(2)
    log = logging.getLogger("credlib.test")
    try:
        raise RuntimeError(f"upstream said: bad key {key}")
    except RuntimeError:
        log.debug("request failed for %s", key, exc_info=True)
    err = capsys.readouterr().err
    assert "request failed for" in err and "RuntimeError" in err
    assert key not in err
    assert redact_key(key) in err


def test_unknown_key_shaped_text_is_masked_too(capsys: pytest.CaptureFixture[str]) -> None:
    echoed = "sk-ant-api03-" + fake_key("")  # never decrypted here, e.g. echoed by a relay
    configure(1)
    logging.getLogger("credlib.test").info("relay answered %s", echoed)
    err = capsys.readouterr().err
    assert "relay answered" in err and echoed not in err


def test_no_log_lines_without_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    configure(0)
    logging.getLogger("credlib.test").info("quiet")
    assert "quiet" not in capsys.readouterr().err


def test_verbose_verify_logs_requests_without_the_key(
    relay: Relay, encrypted_file: Callable[..., Path]
) -> None:
    key = fake_key()
    relay.add_key(key)
    path = encrypted_file(
        {
            "version": 1,
            "credentials": [
                {"name": "Local", "base_url": relay.url, "api_key": key, "models": ["gpt-4o-mini"]}
            ],
        }
    )
    result = run_credlib("-f", str(path), "-v", "verify", "--json")
    assert result.code == 0, result.err
    assert "credlib: credlib.net:" in result.err  # -v really turns the request log on
    assert key not in result.err and key not in result.out
