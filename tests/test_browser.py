"""The built site in headless Chromium (Debian's /usr/bin/chromium driven by Playwright, never a downloaded browser):
the map at 1366 x 900, on a 390 px phone and in print; the filters' state in the address; search served and from
disk; accessibility (axe) on every page type. Screenshots go to test-artifacts/."""
from __future__ import annotations

import functools
import http.server
import re
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

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at "
                                                      "/usr/bin/chromium (apt-get install chromium; .ci/run installs it)")]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    site = out / "site"
    assert (site / "pagefind").is_dir(), "the demo builds the search index"
    return site


@pytest.fixture(scope="module")
def served_site(built):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built))
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


def _page(browser, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return context, page, errors


@pytest.fixture
def page(browser):
    context, page, errors = _page(browser, 1366, 900)
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def phone(browser):
    context, page, errors = _page(browser, 390, 844)
    yield page
    context.close()
    assert not errors, errors


def _outcomes():
    from evidence.classify.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    return taxonomy, [taxonomy.terms["outcomes"][o].label for o in taxonomy.ids("outcomes")]


def _a_record(built: Path) -> str:
    return "records/" + sorted(p.name for p in (built / "records").glob("*.html") if not p.name.startswith("index"))[0]


def _a_cell(built: Path) -> str:
    return "map/" + sorted(p.name for p in (built / "map").glob("*.html"))[0]


def _cells(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll('#map td[data-i]'))
        .map(td => [td.dataset.i + '|' + td.dataset.o, td.querySelector('.n').textContent + '/' + td.dataset.levels + '/' + td.className]))""")


def test_at_1366_every_outcome_column_is_in_view_with_no_scrolling(page, served_site):
    taxonomy, labels = _outcomes()
    page.goto(f"{served_site}/map.html")
    assert page.locator("#map tbody tr").count() == len(taxonomy.ids("interventions"))
    sizes = page.evaluate("""() => ({page: document.documentElement.scrollWidth, view: window.innerWidth,
        frame: [document.querySelector('.map-frame').scrollWidth, document.querySelector('.map-frame').clientWidth],
        right: Math.max(...Array.from(document.querySelectorAll('#map th, #map td')).map(e => e.getBoundingClientRect().right))})""")
    assert sizes["page"] <= sizes["view"] and sizes["frame"][0] <= sizes["frame"][1] and sizes["right"] <= sizes["view"], sizes
    headers = page.locator("#map thead th[data-o]")
    assert headers.count() == len(labels)
    for n, label in enumerate(labels):
        header = headers.nth(n)
        assert header.get_attribute("title") == label
        assert page.get_by_role("columnheader", name=label, exact=True).count() == 1  # the full name is its accessible name
        assert header.bounding_box()["width"] >= 60
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-1366.png"), full_page=True)


def test_each_cell_shows_its_count_as_text_and_a_bar_split_by_level(page, served_site):
    page.goto(f"{served_site}/map.html")
    filled = page.locator("#map td[data-i]:not(.gap)")
    assert filled.count() > 5
    for n in range(filled.count()):
        cell = filled.nth(n)
        levels = [int(x) for x in cell.get_attribute("data-levels").split(",")]
        count = int(cell.locator(".n").inner_text())
        assert count == sum(levels) > 0
        widths = [int(float(w)) for w in cell.locator("svg.bar rect").evaluate_all("rs => rs.map(r => r.getAttribute('width'))")]
        assert sorted(widths) == sorted(x for x in levels if x)
        strongest = 5 - next(i for i, x in enumerate(levels) if x)
        assert f"L{strongest}" in cell.locator(".lv").inner_text()
        name = cell.locator("a").evaluate("a => a.textContent")
        assert f"{count} stud" in name  # the count is in the link's accessible name, not only in colour
    gaps = page.locator("#map td.gap")
    assert gaps.count() > 0 and set(gaps.locator(".n").all_inner_texts()) == {"–"}


def test_the_table_view_lists_every_cell_with_its_levels(page, served_site):
    taxonomy, _ = _outcomes()
    page.goto(f"{served_site}/map.html")
    rows = page.locator("#map-cells tbody tr")
    assert rows.count() == len(taxonomy.ids("interventions")) * len(taxonomy.ids("outcomes"))
    grid = _cells(page)
    for n in range(0, rows.count(), 7):
        row = rows.nth(n)
        key = row.get_attribute("data-i") + "|" + row.get_attribute("data-o")
        levels = [row.locator(f".l{lv}").text_content() for lv in (5, 4, 3, 2, 1)]
        assert ",".join(levels) == grid[key].split("/")[1]


def test_a_cell_leads_to_its_records(page, served_site):
    page.goto(f"{served_site}/map.html")
    link = page.locator("#map td[data-i='foster-care'][data-o='mental-health'] a")
    studies = int(link.locator(".n").inner_text())
    link.click()
    page.wait_for_load_state()
    assert "Foster care" in page.locator("h1").inner_text()
    # the cell's count is its studies: one row each in the findings table (design, level, direction for the pair, phrase)
    assert studies > 0 and page.locator("table.findings").first.locator("tbody tr").count() == studies


def test_filters_recount_cells_empty_cells_read_empty_and_the_state_round_trips_in_the_address(browser, page, served_site):
    page.goto(f"{served_site}/map.html")
    before = _cells(page)  # as the page was built
    assert page.locator("#map-status").inner_text() == ""
    page.locator("#map-filters summary").click()  # the filters' data loads on first use
    page.wait_for_function("() => /studies shown/.test(document.getElementById('map-status').textContent)")
    assert _cells(page) == before  # recounted from the data, the same map
    total = int(re.search(r"\d+", page.locator("#map-status").inner_text()).group())
    page.check("input[name=level][value='5']")
    page.check("input[name=level][value='4']")
    after = _cells(page)
    assert re.fullmatch(rf"\d+ of {total} studies match the filters \(Evidence level: 5: [^;]+, 4: [^;]+\)\.",
                        page.locator("#map-status").inner_text())
    emptied = [k for k in before if not before[k].startswith("–") and after[k].startswith("–")]
    assert emptied, "a filter to levels 4-5 empties some cell in the demo"
    i, o = emptied[0].split("|")
    cell = page.locator(f"#map td[data-i='{i}'][data-o='{o}']")
    assert "gap" in cell.get_attribute("class").split() and "no studies match the filters" in cell.locator("a").evaluate("a => a.textContent")
    assert all(set(v.split("/")[1].split(",")[3:]) == {"0"} for v in after.values())  # no level 2 or 1 study left
    url = page.url
    assert "level=5" in url and "level=4" in url
    context, fresh, errors = _page(browser, 1366, 900)
    try:
        fresh.goto(url)
        fresh.wait_for_function("() => /match the filters/.test(document.getElementById('map-status').textContent)")
        assert fresh.is_checked("input[name=level][value='5']") and fresh.is_checked("input[name=level][value='4']")
        assert not fresh.is_checked("input[name=level][value='2']")
        assert _cells(fresh) == after
        assert fresh.locator("#map-status").inner_text() == page.locator("#map-status").inner_text()
        assert fresh.locator("#map-filters details").get_attribute("open") is None  # a shared view shows its map first
        fresh.locator("#map-filters summary").click()
        fresh.click("#map-filters button[type=reset]")
        fresh.wait_for_function("() => !location.hash.includes('level')")
        assert _cells(fresh) == before
    finally:
        context.close()
    assert not errors, errors


def test_publisher_and_year_filters_are_in_the_address_too(browser, page, served_site):
    page.goto(f"{served_site}/map.html")
    publisher = page.locator("input[name=pub]").first.get_attribute("value")
    years = [y for y in page.locator("select[name=from] option").evaluate_all("os => os.map(o => o.value)") if y]
    page.locator("#map-filters summary").click()
    page.wait_for_function("() => /studies shown/.test(document.getElementById('map-status').textContent)")
    page.locator("input[name=pub]").first.check()
    page.select_option("select[name=from]", years[len(years) // 2])
    assert "from=" in page.url and "pub=" in page.url
    context, fresh, errors = _page(browser, 1366, 900)
    try:
        fresh.goto(page.url)
        fresh.wait_for_function("() => /match the filters/.test(document.getElementById('map-status').textContent)")
        assert fresh.is_checked("input[name=pub] >> nth=0") and fresh.input_value("select[name=from]") == years[len(years) // 2]
        assert fresh.locator("input[name=pub]:checked").count() == 1 and publisher
        assert _cells(fresh) == _cells(page)
    finally:
        context.close()
    assert not errors, errors


PAGES = ["index.html", "map.html", "interventions/index.html", "interventions/foster-care.html", "records/index.html", "method.html",
         "sources.html", "search.html", "downloads.html", "changes.html", "404.html"]


@pytest.mark.parametrize("path", [*PAGES, "RECORD", "CELL", "search.html?q=foster"])
def test_every_page_type_fits_a_390_px_phone_with_controls_of_24_px(phone, served_site, built, path):
    path = {"RECORD": _a_record(built), "CELL": _a_cell(built)}.get(path, path)
    phone.goto(f"{served_site}/{path}")
    if "search" in path:
        phone.wait_for_selector("#search-filters:not([hidden])")
    wide = phone.evaluate("""() => Array.from(document.querySelectorAll('body *')).filter(e => !e.closest('.vh') &&
        e.getBoundingClientRect().right > window.innerWidth + 0.5 && getComputedStyle(e).position !== 'absolute').map(e => e.tagName + '.' + e.className)""")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390 and not wide, wide[:5]
    small = phone.evaluate("""() => Array.from(document.querySelectorAll('button, select, input, summary, nav a, td a, th a, .pager a'))
        .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && (r.height < 24 || r.width < 24); })
        .map(e => e.outerHTML.slice(0, 60) + ' ' + Math.round(e.getBoundingClientRect().width) + 'x' + Math.round(e.getBoundingClientRect().height))""")
    assert not small, small[:5]


@pytest.mark.parametrize("path", [*PAGES, "RECORD", "CELL"])
def test_every_page_type_fits_1366_px_with_no_sideways_scrolling(page, served_site, built, path):
    path = {"RECORD": _a_record(built), "CELL": _a_cell(built)}.get(path, path)
    page.goto(f"{served_site}/{path}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


def test_on_a_phone_the_map_is_a_list_per_intervention(phone, served_site):
    phone.goto(f"{served_site}/map.html")
    assert not phone.locator("#map thead").is_visible()
    row = phone.locator("#map tbody tr").filter(has=phone.locator("td:not(.gap)")).first
    heading, cell = row.locator("th").bounding_box(), row.locator("td:not(.gap)").first.bounding_box()
    assert cell["y"] >= heading["y"] + heading["height"] - 1  # the outcomes sit under their intervention
    assert row.locator("td:not(.gap) .o-label").first.is_visible()  # each names its outcome in full
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "map-390.png"), full_page=True)


def test_the_map_prints_on_a4_landscape(page, served_site):
    taxonomy, _ = _outcomes()
    page.goto(f"{served_site}/map.html#level=2")  # a filtered map prints as filtered, saying so
    page.wait_for_function("() => /match the filters/.test(document.getElementById('map-status').textContent)")
    page.set_viewport_size({"width": 1047, "height": 740})  # A4 landscape less 10 mm margins, at 96 px an inch
    page.emulate_media(media="print")
    assert page.locator("#map").is_visible() and not page.locator("header.site nav").is_visible()
    assert not page.locator("#map-filters details").is_visible() and page.locator("#map-status").is_visible()  # what is filtered prints
    right = page.evaluate("Math.max(...Array.from(document.querySelectorAll('#map th, #map td')).map(e => e.getBoundingClientRect().right))")
    assert right <= 1047, right
    assert page.locator("#map thead th[data-o]").count() == len(taxonomy.ids("outcomes"))
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = page.pdf(path=str(ARTIFACTS / "map.pdf"), prefer_css_page_size=True, print_background=True)
    width, height = (float(x) for x in re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf).groups())
    assert width > height and abs(width - 841.9) < 2 and abs(height - 595.3) < 2  # A4 landscape in points


def test_search_served_shows_the_records_own_words_with_year_publisher_level_design_direction(page, served_site):
    page.goto(f"{served_site}/search.html?q=foster")
    page.wait_for_selector("ol.search-results li.result")
    cards = page.locator("li.result")
    assert cards.count() >= 2
    for n in range(cards.count()):
        facts = cards.nth(n).locator(".fact-label").all_inner_texts()
        assert [f.strip(": ") for f in facts] == ["Year", "Publisher", "Evidence level", "Design", "Findings"]
        excerpt = cards.nth(n).locator(".excerpt").inner_text()
        assert not re.search(r"\b(?:TY|UR|KW|ER)  -|@\w+\{|data-pagefind", excerpt), excerpt
    assert "foster" in page.locator(".excerpt mark").first.inner_text().lower()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)


def test_search_filters_have_readable_labels_narrow_results_and_live_in_the_address(page, served_site):
    page.goto(f"{served_site}/search.html?q=foster")
    page.wait_for_selector("li.result")
    legends = page.locator("#search-filters fieldset legend").all_inner_texts()
    assert legends[:4] == ["Study design", "Evidence level", "Direction of findings", "Population"]
    labels = page.locator("#search-filters label").all_inner_texts()
    assert labels and not [t for t in labels if "_" in t or re.search(r"\b[a-z]+-[a-z]+-[a-z]+\b", t)], labels
    before = page.locator("li.result").count()
    page.locator("#search-filters fieldset").nth(1).locator("input").first.check()
    page.wait_for_function("() => !document.getElementById('search-status').textContent.startsWith('Searching') && location.search.includes('f=')")
    after = page.locator("li.result").count()
    assert after <= before
    url = page.url
    page.goto(url)
    page.wait_for_selector("#search-filters:not([hidden])")
    assert page.locator("#search-filters fieldset").nth(1).locator("input").first.is_checked()


def test_the_map_filters_work_opened_from_disk(browser, built):
    context, page, errors = _page(browser, 1366, 900)
    try:
        page.goto((built / "map.html").as_uri() + "#level=1")
        page.wait_for_function("() => /match the filters/.test(document.getElementById('map-status').textContent)", timeout=5000)
        assert page.is_checked("input[name=level][value='1']")
        levels = page.locator("#map td[data-i]").evaluate_all("tds => tds.map(td => td.dataset.levels)")
        assert all(v.split(",")[:4] == ["0", "0", "0", "0"] for v in levels) and any(v != "0,0,0,0,0" for v in levels)
    finally:
        context.close()
    assert not errors, errors


def test_search_opened_from_disk_says_at_once_how_to_open_the_site(browser, built):
    context, page, errors = _page(browser, 1366, 900)
    try:
        page.goto((built / "search.html").as_uri() + "?q=foster")
        status = page.locator("#search-status")
        page.wait_for_function("() => document.getElementById('search-status').textContent.length > 0", timeout=2000)
        text = status.inner_text()
        assert "evidence serve" in text and "Searching" not in text, text
        assert page.locator("#search-status a[href$='records/index.html']").count() == 1
    finally:
        context.close()
    assert not errors, errors


def test_the_map_is_reachable_by_keyboard(page, served_site):
    page.goto(f"{served_site}/map.html")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('td[data-i]') !== null"):
            break
    else:
        pytest.fail("no map cell reachable by keyboard")


@pytest.mark.parametrize("path", [*PAGES, "RECORD", "CELL", "search.html?q=foster", "map.html#level=4"])
def test_no_serious_accessibility_violations(page, served_site, built, path):
    from axe_playwright_python.sync_playwright import Axe

    path = {"RECORD": _a_record(built), "CELL": _a_cell(built)}.get(path, path)
    page.goto(f"{served_site}/{path}")
    if path.startswith("search.html?"):
        page.wait_for_selector("li.result")
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not serious, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in serious]
