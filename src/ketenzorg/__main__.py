"""``python -m ketenzorg``: the command line."""

from ketenzorg.cli import main

raise SystemExit(main())
