"""The Spark session of the monitoring tests: started once per test run, in local mode, on loopback.

Without a Java runtime or pyspark the tests that take ``spark`` are skipped, except in CI (``CI``
set), where they fail: CI installs both (``.ci/run``), so a missing one there is a broken run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from services import in_ci


def spark_missing() -> str | None:
    """Why Spark cannot run here, or None."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "needs a Java runtime (apt-get install default-jre-headless)"
    if importlib.util.find_spec("pyspark") is None:
        return "needs pyspark (pip install 'ketenzorg[spark]')"
    return None


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local Spark (``local[2]``), its scratch files under pytest's temporary directory."""
    reason = spark_missing()
    if reason is not None:
        if in_ci():
            pytest.fail(f"Spark {reason}, and CI must provide it (.ci/run)")
        pytest.skip(f"Spark {reason}")
    from ketenzorg.monitor.spark import local_session

    session = local_session(tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()
