"""The options every ``store`` command shares: where the store is, who records."""

from __future__ import annotations

import argparse
from typing import Any

USER_ENV = "KETENZORG_USER"
ROLE_ENV = "KETENZORG_ROLE"
ORGANISATION_ENV = "KETENZORG_ORGANISATION"


def actor_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--user", metavar="USER", help=f"who records this (or ${USER_ENV})")
    command.add_argument("--role", metavar="ROLE", help=f"in which role (or ${ROLE_ENV})")
    command.add_argument(
        "--organisation", metavar="ORG", help=f"for which organisation (or ${ORGANISATION_ENV})"
    )
    command.add_argument(
        "--on-behalf-of", metavar="USER", help="the responsible user on whose behalf (default: --user)"
    )


def store_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--store",
        metavar="PATH",
        default=None,
        help="the case store (default: $KETENZORG_STORE, else ./ketenzorg.db)",
    )


def retention_options(parser: Any) -> None:
    parser.add_argument(
        "--retention", metavar="RETENTION.json", help="the retention rules (default: the law's)"
    )
    parser.add_argument("--at", metavar="DATE", help="on this day (default: today)")
