"""`credlib demo`: the shipped example, decrypted with its demo identity, applied into a scratch dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from credlib.demo import MARKER, DemoOptions, default_example_dir, run_demo

EXAMPLES = default_example_dir()


def test_examples_are_encrypted_to_the_demo_identity_only() -> None:
    text = (EXAMPLES / "credentials.yaml").read_text()
    identity = (EXAMPLES / "demo.agekey.txt").read_text()
    assert identity.startswith("# DEMO ONLY")
    recipient = next(line.split(": ", 1)[1] for line in identity.splitlines() if "public key:" in line)
    assert recipient in text and recipient in (EXAMPLES / ".sops.yaml").read_text()
    assert "api_key: ENC[AES256_GCM," in text
    assert "DEMO-FAKE" not in text  # every key is encrypted
    # Applied directly, the example must never write into a real tool's config.
    paths = [line.split("path: ", 1)[1] for line in text.splitlines() if line.strip().startswith("path: ")]
    assert paths and all(p.startswith("demo-out/") for p in paths)


def test_demo_applies_into_scratch_dir_only(tmp_path: Path, isolated_env: Path) -> None:
    out = tmp_path / "demo-out"
    lines: list[str] = []
    before_home = sorted(str(p) for p in isolated_env.rglob("*"))
    started = time.monotonic()
    code = run_demo(DemoOptions(out=out, example_dir=EXAMPLES), lines.append)
    assert time.monotonic() - started < 60
    text = "\n".join(lines)
    assert code == 0, text
    assert "Verified 6 credentials: 5 ok, 1 failed (Old Trial Key: auth_failed)." in text
    assert "left out: Old Trial Key" in text
    assert "$42.50" in text  # New API balance read through the relay
    assert "Plan: " in text and "Apply complete!" in text
    assert "No changes. Your targets match the credentials file." in text
    assert "Step 5: status" in text and text.count("in sync") == 6
    assert str(out) in text

    ccr = json.loads((out / "targets/ccr/config.json").read_text())
    names = [p["name"] for p in ccr["Providers"]]
    assert "my-local-ollama" in names and "company-relay" in names and "old-trial" not in names
    assert (out / "targets/dotenv/.env").stat().st_mode & 0o777 == 0o600
    assert list((out / "state").rglob("state.json"))
    # Nothing outside the scratch directory was written, and sops' env is as it was.
    assert sorted(str(p) for p in isolated_env.rglob("*")) == before_home
    assert os.environ.get("SOPS_AGE_KEY_FILE") != str(EXAMPLES / "demo.agekey.txt")

    # Keys appear in the exports (their job) but not in the demo's output or its state.
    env_text = (out / "targets/dotenv/.env").read_text()
    keys = [line.split("=", 1)[1] for line in env_text.splitlines() if "_API_KEY=" in line]
    assert keys
    state_blob = "".join(p.read_text() for p in (out / "state").rglob("*.json"))
    for key in keys:
        assert key not in state_blob
        assert key not in text  # (the Cherry deep links the demo prints carry keys base64-encoded)


def test_demo_reruns_and_refuses_foreign_directories(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_demo(DemoOptions(out=out, example_dir=EXAMPLES), lambda _line: None) == 0
    assert (out / MARKER).exists()
    assert run_demo(DemoOptions(out=out, example_dir=EXAMPLES), lambda _line: None) == 0  # replaced

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep me")
    from credlib.errors import FileAccessError

    with pytest.raises(FileAccessError, match="not created by credlib demo"):
        run_demo(DemoOptions(out=foreign, example_dir=EXAMPLES), lambda _line: None)
    assert (foreign / "precious.txt").read_text() == "keep me"


def test_credlib_demo_command(tmp_path: Path) -> None:
    """The real entry point, as `make demo` runs it (a fresh process, the venv's sops on PATH)."""
    done = subprocess.run(
        [sys.executable, "-m", "credlib", "demo", "--out", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "Outputs (fake keys) are in" in done.stdout
    assert done.stderr == "" or "Traceback" not in done.stderr
