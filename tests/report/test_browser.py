"""The report in a real browser: Debian's headless Chromium, driven by Selenium through chromedriver.

Selenium, because it drives the distribution's own ``chromium`` through the distribution's matching
``chromedriver`` (no browser download, as Playwright would make), and gives the browser's console
log, the DevTools protocol (network off, every request seen) and print-to-PDF.

Without ``chromium`` and ``chromedriver`` these tests are skipped, except in CI (``CI`` set), where
they fail: ``.ci/run`` installs both. Screenshots and PDFs are kept in ``build/report-browser/``
(or ``$KETENZORG_ARTIFACTS``); the test prints where.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cases import HOSTILE, demo, hostile

from ketenzorg import Engine
from ketenzorg.report import build_report, render_html
from services import in_ci

REPO = Path(__file__).resolve().parents[2]
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1600,1100",
)


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"{program} is not installed (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def artifacts() -> Path:
    where = Path(os.environ.get("KETENZORG_ARTIFACTS") or REPO / "build" / "report-browser")
    where.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser artifacts in {where}")
    return where


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing is not None:
        if in_ci():
            pytest.fail(f"{missing}; CI installs it (.ci/run)")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    profile = tempfile.mkdtemp(prefix="ketenzorg-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
        )
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(browser: Any, html: str, path: Path) -> list[str]:
    """Load ``html`` from ``path`` (file://); return every URL the page asked for."""
    path.write_text(html, encoding="utf-8")
    browser.get_log("performance")  # forget what came before
    browser.get_log("browser")
    browser.get(path.as_uri())
    requests = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    return requests


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
