"""``python -m credlib.relay``: prints its URL, serves, never prints keys, stops on Ctrl+C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from tests.fixtures.env import fake_key

# Re-executes the relay with SIGINT ignored, as a shell's background job inherits it across exec.
_EXEC_WITH_SIGINT_IGNORED = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


# "inherited-ignore": how a shell starts a background job (`relay &`, CI steps, nohup): SIGINT is
# ignored on entry, so Python raises no KeyboardInterrupt; the relay must still stop on SIGINT.
@pytest.mark.parametrize("sigint", ["default", "inherited-ignore"])
def test_standalone_relay_serves_and_stops_on_sigint(sigint: str) -> None:
    key = fake_key()
    env = {**os.environ, "CREDLIB_RELAY_KEY": key}
    argv = ["-m", "credlib.relay", "--port", "0", "--flavor", "sub2api"]
    if sigint == "inherited-ignore":
        argv = ["-c", _EXEC_WITH_SIGINT_IGNORED, *argv]
    proc = subprocess.Popen(
        [sys.executable, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        headers = {"Authorization": f"Bearer {key}"}
        assert httpx.get(url + "/v1/usage", headers=headers, timeout=5).json()["mode"] == "quota_limited"
        assert httpx.get(url + "/v1/models", params={"key": key}, timeout=5).status_code == 200
        assert (
            httpx.get(url + "/v1/models", headers={"Authorization": "Bearer other"}, timeout=5).status_code
            == 401
        )
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0
    assert key not in out and key not in err
    assert "Traceback" not in err


def test_standalone_relay_without_key_accepts_any(tmp_path: object) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CREDLIB_RELAY_KEY"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "credlib.relay"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        r = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {fake_key()}"}, timeout=5)
        assert r.status_code == 200
        proc.terminate()
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0


def test_port_in_use_is_a_clear_error() -> None:
    from credlib.relay import Relay

    with Relay(name="occupier") as busy:
        port = busy.port
        proc = subprocess.run(
            [sys.executable, "-m", "credlib.relay", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert proc.returncode == 6
    assert f"127.0.0.1:{port}" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""
