"""Services the tests reach outside the process: the PostgreSQL server of ``KETENZORG_TEST_POSTGRESQL``.

A test that needs PostgreSQL takes the ``postgresql_url`` fixture (the server) or ``postgresql_schema``
(a fresh schema of its own, dropped afterwards). Without ``KETENZORG_TEST_POSTGRESQL`` such a test is
skipped, except in CI (``CI`` set), where it fails: CI starts a server (``.ci/postgresql``), so a missing
URL there is a broken run, not a reason to skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

POSTGRESQL_URL_VARIABLE = "KETENZORG_TEST_POSTGRESQL"
SCHEMA_PREFIX = "ktz_test_"


def in_ci() -> bool:
    """Whether this run is CI's, where no service test may be skipped."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class PostgresqlSchema:
    """A schema of its own on the test server: every connection made with ``url`` works inside it."""

    name: str
    """The schema's name (``ktz_test_`` and 32 hex digits)."""
    url: str
    """The server's URL with ``options=-c search_path=NAME``: unqualified table names land in the schema."""
    server_url: str
    """The server's URL as given, for connections that must see the whole database."""


def url_with_search_path(url: str, schema: str) -> str:
    """``url`` with libpq's ``options`` set so that each session's ``search_path`` is ``schema``."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "options"]
    query.append(("options", f"-c search_path={schema}"))
    # %20, not +: libpq decodes percent escapes only
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


@contextmanager
def isolated_schema(server_url: str) -> Iterator[PostgresqlSchema]:
    """Create a schema with a unique name, yield it, and drop it with everything in it."""
    import psycopg
    from psycopg import sql

    name = f"{SCHEMA_PREFIX}{uuid.uuid4().hex}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield PostgresqlSchema(name=name, url=url_with_search_path(server_url, name), server_url=server_url)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            # A connection the test left open in a transaction would make the drop wait: fail instead.
            admin.execute("SET lock_timeout = '30s'")
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
