"""The report in a real browser: Debian's headless Chromium, driven by Selenium through chromedriver
(``tests/browser.py``, which says why Selenium).

Without ``chromium`` and ``chromedriver`` these tests are skipped, except in CI (``CI`` set), where
they fail: ``.ci/run`` installs both. Screenshots and PDFs are kept in ``build/report-browser/``
(or ``$KETENZORG_ARTIFACTS``); the test prints where.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cases import HOSTILE, demo, hostile

from browser import artifacts as browser_artifacts
from browser import offline_chromium, open_file
from ketenzorg import Engine
from ketenzorg.report import build_report, render_html


@pytest.fixture(scope="module")
def artifacts() -> Path:
    return browser_artifacts("report-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with offline_chromium(1600, 1100) as driver:
        yield driver


def _open(browser: Any, html: str, path: Path) -> list[str]:
    """Load ``html`` from ``path`` (file://); return every URL the page asked for."""
    path.write_text(html, encoding="utf-8")
    return open_file(browser, path)


@pytest.fixture(scope="module")
def demo_page(browser: Any, artifacts: Path) -> tuple[Any, list[str], Any]:
    engine = Engine()
    case, at = demo(engine)
    report = build_report(case, engine, at=at)
    requests = _open(browser, render_html(report, "en"), artifacts / "demo-report.html")
    return browser, requests, report


def test_demo_report_asks_for_nothing_but_itself_and_logs_no_error(
    demo_page: tuple[Any, list[str], Any], artifacts: Path
) -> None:
    browser, requests, _ = demo_page
    assert requests == [(artifacts / "demo-report.html").as_uri()]
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []


def test_demo_report_dom_holds_the_chart(demo_page: tuple[Any, list[str], Any], artifacts: Path) -> None:
    from selenium.webdriver.common.by import By

    browser, _, report = demo_page
    timeline = report.timeline

    def count(selector: str) -> int:
        return len(browser.find_elements(By.CSS_SELECTOR, selector))

    parties = browser.execute_script(
        "return [...document.querySelectorAll('polyline.score-line')].map(e => e.dataset.party)"
    )
    scored = [s.party_id for s in timeline.series if s.points]
    assert sorted(parties) == sorted(scored)
    assert len(parties) == len(set(parties))
    gates = browser.execute_script(
        "return [...document.querySelectorAll('g.gate')].map(e => e.dataset.threshold)"
    )
    assert sorted(gates) == ["2", "6", "7"]
    assert count("g.phase-band") == len(timeline.bands) == 4
    assert count("g.phase-band[data-entered='relapse']") == 1
    assert count("g.incident-mark") == len(timeline.incidents)
    assert count("g.incident-mark[data-acute='true']") == sum(m.acute for m in timeline.incidents)
    # drawn, not only present: the chart has a size on the screen
    size = browser.execute_script(
        "const r = document.getElementById('timeline').getBoundingClientRect(); return [r.width, r.height]"
    )
    assert size[0] > 600
    assert size[1] > 250
    shot = artifacts / "demo-report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    print(f"\nscreenshot: {shot}")


def test_demo_report_prints_to_pdf_with_the_timeline_and_the_plan(
    demo_page: tuple[Any, list[str], Any], artifacts: Path
) -> None:
    from pypdf import PdfReader
    from selenium.webdriver.common.print_page_options import PrintOptions

    browser, _, report = demo_page
    options = PrintOptions()
    options.orientation = "landscape"
    options.page_width = 21.0
    options.page_height = 29.7
    pdf = base64.b64decode(browser.print_page(options))
    (artifacts / "demo-report.pdf").write_bytes(pdf)
    text = " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages)
    text = " ".join(text.split())
    assert "Timeline" in text
    assert "Safety action plan" in text
    assert "threshold phase 2 (6)" in text  # the chart itself, as vector text
    assert report.plan is not None
    for agreement in report.plan.agreements:
        assert " ".join(agreement.what.split()) in text


def test_hostile_texts_create_no_element_and_run_no_script(browser: Any, artifacts: Path) -> None:
    engine = Engine()
    case, at = hostile(engine)
    requests = _open(
        browser, render_html(build_report(case, engine, at=at), "en"), artifacts / "hostile.html"
    )
    assert requests == [(artifacts / "hostile.html").as_uri()]
    found = browser.execute_script(
        "return {scripts: document.scripts.length, images: document.images.length,"
        " handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some("
        "a => a.name.startsWith('on'))).length, pwned: window.__ketenzorg_pwned === undefined ? null : 1,"
        " text: document.body.innerText}"
    )
    assert found["scripts"] == 0
    assert found["images"] == 0
    assert found["handlers"] == 0
    assert found["pwned"] is None
    assert HOSTILE in found["text"]
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.parametrize("kind", ["police", "person-who-used-violence"])
def test_a_recipient_report_asks_for_nothing_and_logs_no_error(
    browser: Any, artifacts: Path, kind: str
) -> None:
    """A report for a recipient (what its bundle carries, the rest withheld) renders as cleanly."""
    from ketenzorg.disclosure import Recipient
    from ketenzorg.report.disclosed import recipient_report

    engine = Engine()
    case, at = demo(engine)
    report, _ = recipient_report(case, engine, Recipient(kind), at=at)
    page = artifacts / f"report-for-{kind}.html"
    requests = _open(browser, render_html(report, "nl"), page)
    assert requests == [page.as_uri()]
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []
    shown = browser.execute_script("return document.body.innerText")
    assert "achtergehouden" in shown
    assert f"Voor {kind}" in shown
    browser.save_screenshot(str(artifacts / f"report-for-{kind}.png"))
