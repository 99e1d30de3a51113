"""The plugins shipped with ketenzorg. They use exactly the hooks a third party uses.

- :mod:`ketenzorg.plugins.method`: the method's phase rules (cannot be blocked; single rules can
  be overridden through ``registry.override``).
- :mod:`ketenzorg.plugins.geweldsanalyse`: reference Geweldsanalyse (violence analysis).
- :mod:`ketenzorg.plugins.gezinsprofielen`: reference Gezinsprofielen (family profiles).

The two instruments are reference implementations an organisation may replace: block
``ketenzorg.geweldsanalyse`` or ``ketenzorg.gezinsprofielen`` and register its own.
"""
