"""The built pages of `make run` work offline: opened in headless Chromium with the network cut, nothing fails."""

import re
from pathlib import Path

import pytest

from browser_support import MATHJAX_DONE, chromium, requests, run_script, screenshot, wait_until

NOTEBOOK = "01_latent_space"  # trains (progress bars) and has accents in its equations (x̂)


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    """The course runner's build folder with one notebook that trains, run in fast mode."""
    folder = tmp_path_factory.mktemp("build")
    run_script("run_course", "--fast", "--only", NOTEBOOK, "--build", str(folder))
    return folder


def test_the_page_has_progress_bars_as_text_and_links_nothing_remote(build):
    page = (build / f"{NOTEBOOK}.html").read_text(encoding="utf-8")
    assert re.search(r"100%\|█{10}\| \d+/\d+ \[", page), "no finished progress bar in the page's text"
    assert "application/vnd.jupyter.widget" not in page and "require.js" not in page
    loads = re.findall(r"""<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=["']?(?:https?:)?//[^"' >]+""", page)
    assert loads == [] and not re.search(r"url\(['\"]?(?:https?:)?//", page)  # links (<a href>) may point out


@pytest.mark.parametrize("name", [NOTEBOOK, "index"])
def test_the_page_makes_no_failed_request_offline(build, name):
    with chromium(offline=True) as browser:
        requests(browser)  # what Chromium asked for while starting, before the page
        browser.get((build / f"{name}.html").as_uri())
        wait_until(browser, MATHJAX_DONE, 60, "MathJax did not finish typesetting")
        seen = requests(browser)
        screenshot(browser, f"offline-{name}")
        rendered = browser.execute_script("return document.querySelectorAll('.MathJax').length")
        errors = browser.execute_script("return document.querySelectorAll('.MathJax_Error, merror').length")
        font = browser.execute_script("return MathJax.OutputJax['HTML-CSS'].fontInUse")
    assert seen.failed == [] and seen.remote() == []
    assert (rendered > 10 if name == NOTEBOOK else True) and errors == 0 and font == "STIX-Web"
    if name == NOTEBOOK:
        assert any("/mathjax/fonts/HTML-CSS/STIX-Web/woff/" in url for url in seen.urls)
        assert any(url.startswith("data:image/svg+xml") for url in seen.urls)  # the Colab badge
