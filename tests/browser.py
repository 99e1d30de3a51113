"""Headless Chromium for the tests of the self-contained HTML pages (the case report, the regional
page): Debian's ``chromium`` driven through Debian's matching ``chromedriver`` by Selenium, with the
network off and every request and console message seen.

Selenium, because it drives the distribution's own browser through the distribution's own driver
(no browser download, as Playwright would make), and gives the browser's console log, the DevTools
protocol (network off, every request seen) and print-to-PDF. Without ``chromium`` and
``chromedriver`` a test that needs them is skipped, except in CI (``CI`` set), where it fails:
``.ci/run`` installs both.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from services import in_ci

REPO = Path(__file__).resolve().parents[1]
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
)


def missing() -> str | None:
    """Why the browser cannot run here, or ``None``."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"{program} is not installed (apt-get install chromium chromium-driver)"
    return None


def artifacts(name: str) -> Path:
    """Where screenshots and PDFs are kept: ``$KETENZORG_ARTIFACTS``, else ``build/<name>``."""
    where = Path(os.environ.get("KETENZORG_ARTIFACTS") or REPO / "build" / name)
    where.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser artifacts in {where}")
    return where


@contextmanager
def offline_chromium(width: int, height: int) -> Iterator[Any]:
    """A headless Chromium with the network off and a fresh profile; skips (fails in CI) without one."""
    why = missing()
    if why is not None:
        if in_ci():
            pytest.fail(f"{why}; CI installs it (.ci/run)")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    profile = tempfile.mkdtemp(prefix="ketenzorg-chromium-")
    for flag in (*FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile}"):
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


def open_file(browser: Any, path: Path) -> list[str]:
    """Load ``path`` (file://); return every URL the page asked for (the file itself included)."""
    browser.get_log("performance")  # forget what came before
    browser.get_log("browser")
    browser.get(path.as_uri())
    requests = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    return requests
