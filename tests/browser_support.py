"""Headless Chromium for the tests that look at what the course builds: pages, slide decks, JupyterLab.

Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) driven by selenium. Without them a test
skips, except in CI (``CI=true``), where a missing browser fails the run. The tests import it as a plain module:
pytest puts this folder on ``sys.path`` for the test files in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome:", "chrome-untrusted:", "devtools:")
"""Schemes that never reach the network: local files, inline data and Chromium's own pages (its new-tab page can ask
for `chrome-untrusted://new-tab-page/...` after a test has drained the requests of its start)."""
MATHJAX_DONE = ("window.MathJax && MathJax.isReady && MathJax.Hub.queue.pending === 0 && "
                "MathJax.Hub.queue.running === 0")
"""JavaScript: true once MathJax has typeset the page."""


def run_script(name: str, *args: str) -> None:
    """Run ``scripts/<name>.py`` with this Python and these arguments; fail the test with its output if it fails."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / f"{name}.py"), *args], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def require_chromium() -> None:
    """Skip the calling test when Chromium, its driver or selenium is missing; in CI, fail instead."""
    missing = [name for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)) if not Path(path).exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    if missing:
        message = f"{', '.join(missing)} missing: apt-get install chromium chromium-driver; pip install -e '.[test]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Requests:
    """What a page asked for, read from Chromium's network log: every URL, and those that failed with why."""

    urls: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def remote(self, allowed: tuple[str, ...] = ()) -> list[str]:
        """The URLs that are neither local files nor under one of the ``allowed`` prefixes."""
        return [url for url in self.urls if not url.startswith(LOCAL_SCHEMES + allowed)]


@contextmanager
def chromium(width: int = 1280, height: int = 720, offline: bool = False) -> Iterator:
    """A selenium driver of headless Chromium with a fresh profile, the window ``width``×``height``; ``offline``
    cuts the network (local files still load). Read what it requested with :func:`requests`."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="course-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {  # the page gets width × height, exactly
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        driver.execute_cdp_cmd("Network.enable", {})
        if offline:
            driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
                "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def requests(driver) -> Requests:
    """The requests since the last call, from Chromium's performance log (each entry is read once)."""
    found, urls = Requests(), {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            urls[params["requestId"]] = params["request"]["url"]
            found.urls.append(params["request"]["url"])
        elif message["method"] == "Network.loadingFailed" and not params.get("canceled"):
            found.failed.append((urls.get(params["requestId"], "?"), params.get("errorText", "")))
    return found


def screenshot(driver, name: str) -> Path:
    """Save what the window shows as a PNG under ``COURSE_SCREENSHOTS`` (default: the system's temp folder)."""
    folder = Path(os.environ.get("COURSE_SCREENSHOTS", tempfile.gettempdir()))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def wait_until(driver, script: str, seconds: float, what: str):
    """Poll a JavaScript expression until it is truthy and return its value; after ``seconds``, save a screenshot
    (``browser-timeout``) and fail saying ``what`` did not happen."""
    deadline = time.monotonic() + seconds
    while not (value := driver.execute_script(f"return {script}")):
        if time.monotonic() > deadline:
            screenshot(driver, "browser-timeout")
            raise AssertionError(f"{what}: not after {seconds} s")
        time.sleep(0.25)
    return value
