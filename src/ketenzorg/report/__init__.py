"""The case report for a case conference (MDO): a timeline and the plan in one HTML file.

Not imported by ``import ketenzorg``: the template engine (Jinja2) loads only when a report is
made. :func:`build_report` gathers what a report shows from a case; :func:`render_html` draws it.
A report for one recipient is built from that recipient's view of the case, handed to
:func:`build_report` in place of the whole case.
"""

from __future__ import annotations

from ketenzorg.report.model import Report, build_report
from ketenzorg.report.render import render_html, render_report

__all__ = ["Report", "build_report", "render_html", "render_report"]
