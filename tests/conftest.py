"""Shared fixtures: every test gets a fresh engine; hypothesis has a fast CI profile."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ketenzorg import Engine

sys.path.insert(0, str(Path(__file__).parent))

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
