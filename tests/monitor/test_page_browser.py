"""The regional page in a real browser: Debian's headless Chromium through chromedriver, offline,
as the case report is tested (``tests/report/test_browser.py``). Skipped without Chromium, except in
CI, where it fails. The screenshot is kept in ``build/monitor-browser/`` (or ``$KETENZORG_ARTIFACTS``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import artifacts as browser_artifacts
from browser import offline_chromium, open_file
from ketenzorg.monitor.flat import write_parquet
from ketenzorg.monitor.indicators import Period, area_parents, run_indicators
from ketenzorg.monitor.page import CHARTS, region_pages
from ketenzorg.monitor.publish import publish
from ketenzorg.monitor.synth import generate


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with offline_chromium(1400, 1100) as driver:
        yield driver


@pytest.fixture(scope="module")
def page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[str], Path]:
    artifacts = browser_artifacts("monitor-browser")
    table = tmp_path_factory.mktemp("page") / "events.parquet"
    write_parquet(generate(240, seed=11), table)
    parents = area_parents(table, "municipality")
    publications = [
        publish(run_indicators(table, Period.parse(p), "municipality"), parents, "municipality", p)
        for p in ("2025H1", "2025H2", "2026H1")
    ]
    path = artifacts / "regio-noorderveen.nl.html"
    path.write_text(region_pages(publications, "nl")["Regio Noorderveen"], encoding="utf-8")
    return browser, open_file(browser, path), path


def test_the_page_asks_for_nothing_but_itself_and_logs_no_error(page: tuple[Any, list[str], Path]) -> None:
    browser, requests, path = page
    assert requests == [path.as_uri()]
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []


def test_one_drawn_chart_and_a_table_per_indicator_group(page: tuple[Any, list[str], Path]) -> None:
    browser, _, path = page
    found = browser.execute_script(
        "return {scripts: document.scripts.length, images: document.images.length,"
        " charts: [...document.querySelectorAll('svg.chart')].map(e => [e.id,"
        " e.getBoundingClientRect().width, e.getBoundingClientRect().height]),"
        " tables: [...document.querySelectorAll('table')].map(e => [e.id, e.rows.length]),"
        " bars: document.querySelectorAll('svg.chart rect').length,"
        " overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth}"
    )
    assert found["scripts"] == 0
    assert found["images"] == 0
    assert [c[0] for c in found["charts"]] == [f"{c}-chart" for c in CHARTS]
    assert all(width > 300 and height > 100 for _, width, height in found["charts"])
    tables = dict(found["tables"])
    for chart in CHARTS:
        assert tables[f"{chart}-table"] >= 2  # a header and at least one row
    assert found["bars"] > 0
    assert found["overflow"] <= 0  # nothing runs off the side of the page
    shot = path.with_suffix(".png")
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    print(f"\nscreenshot: {shot}")
