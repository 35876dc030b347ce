"""The published site in a real browser: Debian's Chromium driven through chromium-driver by
Selenium.  Selecting a size class changes the charts, typing part of a name and picking it draws
its curve, sorting and filtering work, no page logs a console error, no request leaves the
site's folder, and a hostile model id stays text.

Without Chromium and its driver these tests skip, unless ``RAM_REQUIRE_BROWSER`` is set (CI
sets it, and installs both): then they fail.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ram.publish import paths
from tests.site_fixtures import HOSTILE

pytestmark = pytest.mark.slow


def _binaries() -> tuple[str, str] | None:
    browser = next(
        (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None
    )
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    found = _binaries()
    if found is None:
        message = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"
        if os.environ.get("RAM_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_AVOID_STATS"] = "true"  # Selenium Manager is not used: both paths are given
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1100",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-default-apps", "--disable-sync", "--disable-extensions",
    ):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=found[1]), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _requests(driver: Any) -> list[str]:
    """URLs the page asked for since the last call (Chrome's DevTools network log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _open(driver: Any, page: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(page.as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "var el = document.getElementById('chart-ram');"
            "return !!(el && el.data && el._fullLayout);"
        )
    )


def _names(driver: Any, chart: str) -> list[str]:
    """The chart's trace names as text (Plotly's names are HTML-like, so escaped ones are
    unescaped here; traces the page's script adds carry the id itself in ``meta``)."""
    names = driver.execute_script(
        f"return document.getElementById('{chart}').data.map(t => t.meta || t.name);"
    )
    return [html.unescape(n) for n in names]


def _inside(site: Path, urls: list[str]) -> list[str]:
    root = site.resolve().as_uri() + "/"
    return [u for u in urls if not (u.startswith(root) or u.startswith(("data:", "blob:")))]


def test_the_size_class_selector_and_the_model_picker_drive_the_charts(
    browser: Any, site: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    _open(browser, site / "index.html")
    first = _names(browser, "chart-ram")
    title = browser.execute_script(
        "return document.getElementById('chart-cumulative').layout.title.text"
    )
    assert title == "Cumulative downloads since release: 1-5B models"
    select = Select(browser.find_element(By.ID, "size-class"))
    assert [o.text for o in select.options] == ["1-5B", "5-10B", "10-50B", "50-100B"]

    select.select_by_visible_text("10-50B")
    WebDriverWait(browser, 10).until(lambda d: _names(d, "chart-ram") != first)
    assert (
        browser.execute_script(
            "return document.getElementById('chart-cumulative').layout.title.text"
        )
        == "Cumulative downloads since release: 10-50B models"
    )
    assert (
        browser.find_element(By.ID, "ram-csv").get_attribute("href").endswith("data/ram-10-50b.csv")
    )

    box = browser.find_element(By.ID, "model-search")
    box.send_keys("janus-pro-1")  # part of a name, in another case, of a 1-5B model
    suggestion = WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#model-suggestions button")
    )
    assert suggestion.get_attribute("data-model") == "deepseek-ai/Janus-Pro-1B"
    suggestion.click()
    WebDriverWait(browser, 10).until(lambda d: select.first_selected_option.text == "1-5B")
    # a model the class chart already draws is drawn once, not twice
    assert _names(browser, "chart-ram").count("deepseek-ai/Janus-Pro-1B") == 1
    assert _names(browser, "chart-cumulative").count("deepseek-ai/Janus-Pro-1B") == 1
    chip = browser.find_element(By.CSS_SELECTOR, "#picked .chip")
    assert chip.text.startswith("deepseek-ai/Janus-Pro-1B")

    box.send_keys("Qwen2.5-Coder-3B")  # a model not drawn by default: its curve is added
    WebDriverWait(browser, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#model-suggestions button")
    )
    browser.find_element(
        By.CSS_SELECTOR, '#model-suggestions button[data-model="Qwen/Qwen2.5-Coder-3B"]'
    ).click()
    WebDriverWait(browser, 10).until(lambda d: "Qwen/Qwen2.5-Coder-3B" in _names(d, "chart-ram"))
    assert _names(browser, "chart-cumulative").count("Qwen/Qwen2.5-Coder-3B") == 1
    chips = browser.find_elements(By.CSS_SELECTOR, "#picked .chip")  # redrawn: find it again
    assert [c.text[:-1] for c in chips] == ["deepseek-ai/Janus-Pro-1B", "Qwen/Qwen2.5-Coder-3B"]
    chips[1].find_element(By.TAG_NAME, "button").click()  # remove Qwen2.5-Coder-3B again
    WebDriverWait(browser, 10).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#picked .chip")) == 1
    )
    assert "Qwen/Qwen2.5-Coder-3B" not in _names(browser, "chart-ram")
    assert "deepseek-ai/Janus-Pro-1B" in _names(browser, "chart-ram")
    # a model among the faint top 10 by downloads, once picked, is drawn once and bold
    top = "Qwen/Qwen2.5-1.5B-Instruct"
    groups = "return document.getElementById('chart-cumulative').data.map(t => t.legendgroup)"
    assert dict(zip(_names(browser, "chart-cumulative"), browser.execute_script(groups),
                    strict=True))[top] == "top"  # fmt: skip
    box.send_keys("qwen2.5-1.5b-instruct")
    WebDriverWait(browser, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f'#model-suggestions button[data-model="{top}"]')
    )
    browser.find_element(By.CSS_SELECTOR, f'#model-suggestions button[data-model="{top}"]').click()
    WebDriverWait(browser, 10).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#picked .chip")) == 2
    )
    names = _names(browser, "chart-cumulative")
    assert names.count(top) == 1
    assert browser.execute_script(groups)[names.index(top)] == "chosen"
    assert _errors(browser) == []
    urls = _requests(browser)
    assert any(u.endswith("/plotly.min.js") for u in urls)  # the log does see the requests
    assert any(u.endswith("/data/models.js") for u in urls)
    assert _inside(site, urls) == []


def test_a_hostile_model_id_stays_text_in_the_picker_chips_and_legend(
    browser: Any, site: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _open(browser, site / "index.html")
    images = browser.execute_script("return document.images.length")
    browser.find_element(By.ID, "model-search").send_keys("onerror")
    suggestion = WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#model-suggestions button")
    )
    assert suggestion.get_attribute("data-model") == HOSTILE
    assert suggestion.text.startswith(HOSTILE)
    suggestion.click()
    WebDriverWait(browser, 10).until(lambda d: HOSTILE in _names(d, "chart-ram"))
    legend = browser.execute_script(
        "return Array.from(document.querySelectorAll('#chart-ram .legendtext'))"
        ".map(e => e.textContent)"
    )
    assert HOSTILE in legend
    assert browser.find_element(By.CSS_SELECTOR, "#picked .chip").text.startswith(HOSTILE)
    row = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.board td a')).map(a => a.textContent)"
    )
    assert HOSTILE in row
    assert browser.execute_script("return document.images.length") == images == 0
    assert _errors(browser) == []  # an onerror handler that ran would have logged a failed load

    stem = paths.unique_stems([HOSTILE])[HOSTILE]
    _open(browser, site / f"models/{stem}.html")
    assert browser.find_element(By.TAG_NAME, "h1").text == HOSTILE
    assert HOSTILE in _names(browser, "chart-cumulative")
    assert browser.execute_script("return document.images.length") == 0
    assert _errors(browser) == []
    assert _inside(site, _requests(browser)) == []


def test_leaderboards_sort_and_filter(browser: Any, site: Path) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, site / "index.html")
    table = browser.find_element(By.CSS_SELECTOR, 'table.board[data-class="1-5B"]')

    def column(key: str) -> list[str]:
        index = [h.get_attribute("data-key") for h in table.find_elements(By.TAG_NAME, "th")]
        i = index.index(key)
        return [r.find_elements(By.TAG_NAME, "td")[i].get_attribute("data-v")
                for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]  # fmt: skip

    ram = [float(v) for v in column("ram")]
    assert ram == sorted(ram, reverse=True)  # best first
    header = table.find_element(By.CSS_SELECTOR, 'th[data-key="ram"]')
    header.click()
    assert [float(v) for v in column("ram")] == sorted(ram)
    header.click()
    assert [float(v) for v in column("ram")] == sorted(ram, reverse=True)
    table.find_element(By.CSS_SELECTOR, 'th[data-key="model_id"]').click()
    names = column("model_id")
    assert names == sorted(names, key=lambda n: n.lower()) or names == sorted(names)

    browser.find_element(By.ID, "board-search").send_keys("deepseek")
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.board tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.cells[1].textContent)"
    )
    assert shown and all("deepseek" in s.lower() for s in shown)
    assert _errors(browser) == []


def test_model_pages_draw_their_curves_and_fan(browser: Any, site: Path) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, site / "models/Qwen/Qwen2.5-7B-Instruct.html")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Qwen/Qwen2.5-7B-Instruct"
    ram = _names(browser, "chart-ram")
    assert ram[0] == "Qwen/Qwen2.5-7B-Instruct"
    assert any("forecast p10-p90" in n for n in ram) and any("forecast p50" in n for n in ram)
    cumulative = _names(browser, "chart-cumulative")
    assert cumulative.count("Qwen/Qwen2.5-7B-Instruct") == 1 and "Top-10 cutoff" in cumulative
    rows = browser.find_elements(By.CSS_SELECTOR, "#milestones tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows] == [
        "7",
        "14",
        "30",
        "60",
        "90",
    ]
    browser.save_screenshot(str(site.parent / "model-page.png"))
    assert _errors(browser) == []
    assert _inside(site, _requests(browser)) == []
