"""``python -m ketenzorg.interop.conformance``: write or ``--check`` the committed package."""

import sys

from ketenzorg.interop.conformance.package import main

sys.exit(main())
