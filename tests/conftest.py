"""Shared fixtures: every test gets a fresh engine; hypothesis has a fast CI profile; PostgreSQL."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ketenzorg import Engine

sys.path.insert(0, str(Path(__file__).parent))

from services import POSTGRESQL_URL_VARIABLE, PostgresqlSchema, in_ci, isolated_schema

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def engine() -> Engine:
    return Engine()


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def postgresql_url() -> str:
    """The test server's URL (``KETENZORG_TEST_POSTGRESQL``); skipped without one, failed in CI."""
    url = os.environ.get(POSTGRESQL_URL_VARIABLE, "").strip()
    if not url:
        if in_ci():
            pytest.fail(f"{POSTGRESQL_URL_VARIABLE} is not set, and CI must start a server (.ci/postgresql)")
        pytest.skip(f"needs a PostgreSQL server: set {POSTGRESQL_URL_VARIABLE} (README, Development)")
    return url


@pytest.fixture
def postgresql_schema(postgresql_url: str) -> Iterator[PostgresqlSchema]:
    """A freshly created schema of this test's own on the test server, dropped after the test."""
    with isolated_schema(postgresql_url) as schema:
        yield schema
