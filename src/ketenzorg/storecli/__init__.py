"""``ketenzorg store ...``: an operator works cases in a case store (:mod:`ketenzorg.store`).

One module per concept: :mod:`.options` (where the store is, who records), :mod:`.common` (the actor,
loading and recording), :mod:`.reading` (``verify``, ``list``, ``show``), :mod:`.opening` (``open``),
:mod:`.recording` (``score``, ``conference``, ``incident``, ``plan``, ``join``, ``leave``, ``setting``,
``assess``), :mod:`.lifecycle` (``advance``, ``relapse``, ``close``), :mod:`.retention` (``destroy``,
``hold``, ``release``, ``retention``), :mod:`.exchange` (``import``, ``export``, ``merge``) and
:mod:`.parser` (the subcommands). The command line imports this package only when ``store`` (or
``demo``, for ``--store``) is selected, so every other command starts without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ketenzorg.storecli.options import actor_options, store_option

if TYPE_CHECKING:
    import argparse

    from ketenzorg.case import Case
    from ketenzorg.engine import Engine

__all__ = ["actor_options", "register", "store_demo", "store_option"]


def register(sub: Any) -> None:
    """Add ``ketenzorg store ...`` with all its subcommands to the command line's subcommands."""
    from ketenzorg.storecli.parser import register

    register(sub)


def store_demo(args: argparse.Namespace, case: Case, engine: Engine) -> None:
    """``demo --store PATH``: the demo case stored as a new case."""
    from ketenzorg.storecli.common import store_demo

    store_demo(args, case, engine)
