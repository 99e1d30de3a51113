"""The indicators on Apache Spark: the same SQL files, translated to Spark SQL by SQLGlot.

DuckDB runs the indicators on one machine; a national monitor, or a vendor hosting many
organisations, may outgrow it. Spark reads the same flat Parquet table and runs the queries of
``sql/`` after :func:`ketenzorg.monitor.indicators.to_spark` has translated them: there is no second
copy of any query. pyspark (and a Java runtime) come with the ``spark`` extra and are imported only
here, only when used.

:func:`local_session` starts Spark in local mode on this machine (the tests, the benchmark and
``ketenzorg monitor --engine spark``); on a cluster, pass your own ``SparkSession`` to
:func:`ketenzorg.monitor.indicators.run_indicators`.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from ketenzorg.monitor import MonitorError, require

__all__ = ["LOCAL_CONF", "SparkRunner", "active_session", "local_session"]

LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # loopback only: local mode needs no other address
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    # the flat table's timestamps are UTC without a zone; literals are read the same way
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
}
"""The settings of :func:`local_session`: small, quiet, on loopback, in UTC."""


def _pyspark() -> Any:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise MonitorError(
            "the Spark engine needs a Java runtime (Debian: apt-get install default-jre-headless)"
        )
    return require("pyspark.sql", extra="spark")


def local_session(work_dir: str | os.PathLike[str], *, master: str = "local[2]") -> Any:
    """A ``SparkSession`` in local mode, its scratch files (shuffle, warehouse, metastore) under
    ``work_dir``. Stop it with ``session.stop()``."""
    sql = _pyspark()
    # the driver binds to loopback from its start (not to the host's outward address)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    work = os.fspath(work_dir)
    os.makedirs(work, exist_ok=True)
    java_tmp = f"-Djava.io.tmpdir={work} -Dderby.system.home={work}"
    builder = sql.SparkSession.builder.master(master).appName("ketenzorg-monitor")
    for key, value in {
        **LOCAL_CONF,
        "spark.local.dir": work,
        "spark.sql.warehouse.dir": os.path.join(work, "warehouse"),
        "spark.driver.extraJavaOptions": java_tmp,
    }.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def active_session() -> Any:
    """The ``SparkSession`` already running in this process, or None."""
    return _pyspark().SparkSession.getActiveSession()


class SparkRunner:
    """Runs translated queries on ``session`` over the Parquet table at ``path`` (view ``events``)."""

    def __init__(self, session: Any, path: str) -> None:
        self.session = session
        session.read.parquet(path).createOrReplaceTempView("events")

    def execute(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        from ketenzorg.monitor.indicators import to_spark

        frame = self.session.sql(to_spark(sql))
        return list(frame.columns), [tuple(row) for row in frame.collect()]

    def close(self) -> None:
        self.session.catalog.dropTempView("ev")
        self.session.catalog.dropTempView("events")
