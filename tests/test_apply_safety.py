"""Concurrency and crash safety of apply: the exclusive lock, and kill -9 in the middle of a write."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from credlib.state import apply_lock
from tests.fixtures.reconcile import Project


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from credlib.cli import cli as group
    from credlib.cli.errors import run_cli

    code = run_cli(group, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def small(project: Project, encrypt_project: Callable[[Project], Path]) -> tuple[Project, Path]:
    project.add("Alpha")
    project.target("env", "dotenv", "out/.env")
    return project, encrypt_project(project)


def test_second_apply_fails_clearly_while_the_first_holds_the_lock(
    small: tuple[Project, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    project, file = small
    with apply_lock(str(file)):
        started = time.monotonic()
        code, _out, err = cli(capsys, "-f", str(file), "apply", "--offline", "--yes", "--lock-timeout", "0.5")
        waited = time.monotonic() - started
    assert code == 7
    assert "another credlib apply is running" in err
    assert waited >= 0.5  # it waited briefly before giving up
    assert not (project.root / "out").exists()


def test_second_apply_waits_for_the_first_to_finish(
    small: tuple[Project, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    project, file = small
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with apply_lock(str(file)):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(5)
    threading.Timer(0.4, release.set).start()
    code, _, err = cli(capsys, "-f", str(file), "apply", "--offline", "--yes", "--lock-timeout", "5")
    thread.join(5)
    assert code == 0, err
    assert (project.root / "out" / ".env").exists()


def _contents(paths: list[Path]) -> dict[Path, bytes | None]:
    return {p: (p.read_bytes() if p.exists() else None) for p in paths}


def _parses(path: Path, data: bytes) -> None:
    if path.suffix == ".json":
        json.loads(data)
    elif path.suffix == ".yaml":
        from ruamel.yaml import YAML

        YAML(typ="safe").load(data)


# Runs `credlib` with os.replace wrapped: before the Nth rename it writes a marker file and sleeps,
# so the test can SIGKILL the process at a known point (a temp file fully written, not yet renamed).
PAUSING_RUNNER = """
import os, sys, time
real_replace = os.replace
count = 0
def replace(src, dst, *a, **k):
    global count
    count += 1
    if count == int(os.environ["PAUSE_AT"]):
        with open(os.environ["PAUSE_MARKER"], "w") as fh:
            fh.write(str(dst))
        time.sleep(60)
    return real_replace(src, dst, *a, **k)
os.replace = replace
from credlib.cli import main
sys.argv = ["credlib", *sys.argv[1:]]
main()
"""


def _wait_for(path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, "the apply never reached the pause point"
        time.sleep(0.02)


@pytest.mark.timeout(120)
def test_kill_9_during_apply_leaves_every_target_old_or_new(
    project: Project, encrypt_project: Callable[[Project], Path], isolated_env: Path
) -> None:
    for i in range(30):
        project.add(f"Relay {i:03d}", tags=["work"], models=["gpt-4o-mini", "claude-sonnet-4-5"])
    paths = list(project.all_file_targets().values())
    file = encrypt_project(project)
    env = {**os.environ}
    args = ["-f", str(file), "apply", "--offline", "--yes"]
    credlib = [sys.executable, "-m", "credlib", *args]

    first = subprocess.run(credlib, env=env, capture_output=True, timeout=60, check=False)
    assert first.returncode == 0, first.stderr.decode()
    old = _contents(paths)
    state_dir = Path(env["CREDLIB_STATE_DIR"])
    saved_state = state_dir.parent / "state-after-first-apply"
    shutil.copytree(state_dir, saved_state)

    for cred in project.credentials:  # every target changes
        cred["models"] = ["gpt-4.1", "claude-opus-4-1"]
    from tests.fixtures.env import encrypt_data

    encrypt_data(file, project.document(), [])
    began = time.monotonic()
    done = subprocess.run(credlib, env=env, capture_output=True, timeout=60, check=False)
    duration = time.monotonic() - began
    assert done.returncode == 0, done.stderr.decode()
    new = _contents(paths)
    assert all(new[p] != old[p] for p in paths)

    def reset() -> None:
        for p in paths:
            p.write_bytes(old[p] or b"")
        shutil.rmtree(state_dir)
        shutil.copytree(saved_state, state_dir)

    def check_old_or_new() -> int:
        now = _contents(paths)
        for p in paths:
            data = now[p]
            assert data is not None and data in (old[p], new[p]), f"{p.name} is torn"
            _parses(p, data)
        return sum(1 for p in paths if now[p] == new[p])

    # Killed at known points: with a temp file written but not renamed, after some targets were.
    marker = isolated_env / "paused"
    for pause_at in (1, 4, 7):
        reset()
        marker.unlink(missing_ok=True)
        proc = subprocess.Popen(
            [sys.executable, "-c", PAUSING_RUNNER, *args],
            env={**env, "PAUSE_AT": str(pause_at), "PAUSE_MARKER": str(marker)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(marker, 30)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        renamed = check_old_or_new()
        assert 0 <= renamed < len(paths)
        if pause_at == 7:
            assert renamed >= 2  # a kill between target writes: some new, some old, none torn

    # Killed at arbitrary moments of an unmodified apply.
    rng = random.Random(1234)  # noqa: S311 - reproducible kill timings, not crypto
    for _ in range(3):
        reset()
        proc = subprocess.Popen(credlib, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.0) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        check_old_or_new()

    # The killed runs left no lock behind and nothing that confuses the next apply (no false drift).
    final = subprocess.run(credlib, env=env, capture_output=True, timeout=60, check=False)
    assert final.returncode == 0, final.stderr.decode() + final.stdout.decode()
    assert _contents(paths) == new


def test_two_apply_processes_at_once(
    small: tuple[Project, Path], isolated_env: Path
) -> None:
    """A real second process: the first is held mid-apply (lock taken), the second gives up with 7."""
    project, file = small
    args = ["-f", str(file), "apply", "--offline", "--yes"]
    marker = isolated_env / "paused"
    first = subprocess.Popen(
        [sys.executable, "-c", PAUSING_RUNNER, *args],
        env={**os.environ, "PAUSE_AT": "1", "PAUSE_MARKER": str(marker)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(marker, 30)
        second = subprocess.run(
            [sys.executable, "-m", "credlib", *args, "--lock-timeout", "0.5"],
            capture_output=True, text=True, timeout=60, check=False,
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert second.returncode == 7, second.stderr
    assert "another credlib apply is running for this credentials file" in second.stderr
    assert "Traceback" not in second.stderr
    # The killed holder released the lock with its death.
    third = subprocess.run([sys.executable, "-m", "credlib", *args], capture_output=True, text=True,
                           timeout=60, check=False)
    assert third.returncode == 0, third.stderr
    assert (project.root / "out" / ".env").exists()
