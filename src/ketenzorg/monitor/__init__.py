"""Regional monitoring: figures about how the chain works, per region, municipality and half-year.

Cases become a flat table of events without names, free text or addresses (:mod:`.flat`), the
indicators are SQL over that table (:mod:`.indicators`, the queries in ``sql/``), and statistical
disclosure control (:mod:`.sdc`) makes the tables fit to publish. DuckDB and pyarrow come with the
``monitor`` extra and are imported only when used; ``import ketenzorg`` does not load this package.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ketenzorg.errors import KetenzorgError

__all__ = ["MonitorError", "require"]


class MonitorError(KetenzorgError):
    """A monitoring step that cannot run: a missing extra, a bad period, an unreadable source."""


def require(module: str, *, extra: str = "monitor") -> ModuleType:
    """Import ``module`` (``duckdb``, ``pyarrow``, ``pyspark.sql``, ...), or say which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MonitorError(
            f"monitoring needs {module.split('.')[0]}: install the {extra} extra "
            f"(pip install 'ketenzorg[{extra}]')"
        ) from None
