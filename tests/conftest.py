"""Shared pytest setup: fixture plugins live in ``tests/support`` (one module per concern)."""

pytest_plugins = [
    "tests.support.network_guard",
    "tests.support.postgres",
    "tests.support.databases",
    "tests.support.server",
    "tests.support.fake_slack",
    "tests.support.fake_connector",
    "tests.support.openid",
]
