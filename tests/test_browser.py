"""The built site in headless Chromium (Debian's /usr/bin/chromium driven by Playwright): map, cells, filters,
search and accessibility. Screenshots go to test-artifacts/."""
from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from evidence.cli import cli

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)")]


@pytest.fixture(scope="module")
def served_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser")
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    site = out / "site"
    assert (site / "pagefind").is_dir(), "the demo builds the search index"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[assignment]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "Content-Security-Policy" in msg.text else None)
    yield page
    context.close()
    assert not errors, errors


def test_map_renders_and_a_cell_lists_its_records(page, served_site):
    page.goto(f"{served_site}/map.html")
    from evidence.classify.taxonomy import load_taxonomy

    assert page.locator("table.map tbody tr").count() == len(load_taxonomy().ids("interventions"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map.png"), full_page=True)
    cell = page.locator("td[data-i='foster-care'][data-o='placement-stability'] a")
    cell.click()
    page.wait_for_load_state()
    assert "Foster care: Placement stability" in page.locator("h1").inner_text()
    assert page.locator("table.findings tbody tr").count() >= 1  # a row per record: design, level, direction, phrase


def test_level_filter_narrows_the_map(page, served_site):
    page.goto(f"{served_site}/map.html")
    status = page.locator("#map-status")
    before = status.inner_text()
    page.select_option("select[name=level]", "2")
    after = status.inner_text()
    total = before.split(" of ")[1].split()[0]
    assert before.startswith(f"{total} of {total} ") and int(after.split(" of ")[0]) < int(total), (before, after)
    assert page.locator("td.filtered-out").count() > 0


def test_search_for_foster_finds_foster_care_records(page, served_site):
    page.goto(f"{served_site}/search.html?q=foster")
    page.wait_for_selector(".pagefind-ui__result-link", timeout=15000)
    titles = page.locator(".pagefind-ui__result-link").all_inner_texts()
    assert any("foster" in t.lower() or "accommodation" in t.lower() or "mental health" in t.lower() for t in titles), titles


def test_intervention_page_screenshot_and_keyboard_reachable_cells(page, served_site):
    page.goto(f"{served_site}/interventions/foster-care.html")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "intervention-foster-care.png"), full_page=True)
    page.goto(f"{served_site}/map.html")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('td[data-i]') !== null"):
            break
    else:
        pytest.fail("no map cell reachable by keyboard")


@pytest.mark.parametrize("path", ["index.html", "map.html", "interventions/foster-care.html", "records/index.html", "method.html",
                                  "sources.html", "search.html", "downloads.html", "changes.html", "404.html"])
def test_no_serious_accessibility_violations(page, served_site, path):
    from axe_playwright_python.sync_playwright import Axe

    page.goto(f"{served_site}/{path}")
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not serious, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in serious]


def test_a_record_page_has_no_serious_accessibility_violations(page, served_site):
    from axe_playwright_python.sync_playwright import Axe

    page.goto(f"{served_site}/records/index.html")
    page.locator("ul.records li a").first.click()
    page.wait_for_load_state()
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not serious, [(v["id"], v["help"]) for v in serious]
