"""Test-wide setup. Each area keeps its fixtures in its own plugin module under tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.env",
    "tests.fixtures.git",
    "tests.fixtures.tools",
    "tests.fixtures.relay",
    "tests.fixtures.net",
    "tests.fixtures.reconcile",
    "tests.fixtures.telemetry",
    "tests.fixtures.admin_servers",
]
