"""The documentation site: every public object has an entry, and the built pages work
in a real browser.

`test_every_public_object_is_documented` runs with the unit tests. The others are
marked `docs`: they read the site `make docs` built in docs/_build/html and open it,
from file:// URLs, in headless Chromium from Debian's packages (`make docs-check`
installs it with tools/install_chromium.sh and runs them). Each prints what it
checked.
"""

import os
import zlib
from pathlib import Path

import pytest

from tools.api import public_objects
from tools.docs import api_pages, module_name

ROOT = Path(__file__).resolve().parent.parent
# The built site; SMITHING_DOCS_HTML points elsewhere (a build into another folder).
SITE = Path(os.environ.get("SMITHING_DOCS_HTML", ROOT / "docs" / "_build" / "html"))
GENERATED = ROOT / "docs" / "_generated"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 30


def _documented_paths():
    """`{"keras_smithing.layers.DropConnectDense": "api/keras_smithing.layers.md", ...}`."""
    return {
        f"{module_name(subpackage)}.{name}": f"api/{module_name(subpackage)}.md"
        for subpackage, members in public_objects().items()
        for name, _ in members
    }


def test_every_public_object_is_documented():
    pages = api_pages()
    missing, bare = [], []
    for path, page in _documented_paths().items():
        if f":: {path}\n" not in pages[page.removeprefix("api/")]:
            missing.append(path)
    for subpackage, members in public_objects().items():
        for name, obj in members:
            # autodoc shows an object's own docstring only (no inherited ones).
            if not (vars(obj).get("__doc__") if isinstance(obj, type) else obj.__doc__):
                bare.append(f"{module_name(subpackage)}.{name}")
    assert not missing, (
        f"public objects without an API entry in tools/docs.py: {missing}"
    )
    assert not bare, f"public objects without a docstring of their own: {bare}"


def test_benchmark_targets_and_undefined_ratios_are_drawn_as_stored():
    from tools.docs import MET, MISSED, family_figure, meets, parse_target

    assert parse_target(">= 6/7") == (">=", 6 / 7)
    assert parse_target("<= 1.2") == ("<=", 1.2)
    assert parse_target("free text") is None
    assert meets(4 / 7, parse_target(">= 4/7")) and not meets(
        5 / 7, parse_target(">= 6/7")
    )
    rows = [
        {"benchmark": "a", "baseline": "b", "ratio": 4 / 7, "target": ">= 4/7"},
        {"benchmark": "c", "baseline": "d", "ratio": 1.5, "target": "<= 1.2"},
        {"benchmark": "e", "baseline": "f", "ratio": None, "target": "<= 1"},
    ]
    fig = family_figure("bench_x", {"mode": "full", "date": "d", "rows": rows})
    ax = fig.axes[0]
    colors = [patch.get_facecolor()[:3] for patch in ax.patches]
    import matplotlib.colors

    assert colors == [matplotlib.colors.to_rgb(MET), matplotlib.colors.to_rgb(MISSED)]
    assert "1 without a ratio" in ax.get_title()


# --- the built site ---------------------------------------------------------------


def _site_file(name):
    path = SITE / name
    assert path.exists(), f"{path} is missing: run `make docs` first"
    return path


def _inventory():
    """`{name: uri}` of the built site's Python objects (Sphinx's objects.inv)."""
    lines = _site_file("objects.inv").read_bytes().split(b"\n", 4)
    entries = {}
    for line in zlib.decompress(lines[4]).decode().splitlines():
        name, role, _priority, uri, _display = line.split(" ", 4)
        if role.startswith("py:"):
            entries[name] = uri.replace("$", name) if uri.endswith("$") else uri
    return entries


@pytest.mark.docs
def test_every_public_object_has_a_page_in_the_built_site():
    inventory = _inventory()
    expected = _documented_paths()
    wrong = {
        path: inventory.get(path)
        for path, page in expected.items()
        if not inventory.get(path, "").startswith(page.replace(".md", ".html#"))
    }
    assert not wrong, (
        f"public objects missing from the built reference (found at): {wrong}"
    )
    print(
        f"\nchecked: all {len(expected)} public objects have an entry on their API page"
    )


@pytest.fixture(scope="module")
def browser():
    _site_file("index.html")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail(
            "selenium is missing: install the docs extra (`make docs-check` does)"
        )
    for path in (CHROMIUM, CHROMEDRIVER):
        assert Path(path).exists(), f"{path} is missing: run tools/install_chromium.sh"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    # The driver's path is given, so Selenium never tries to download one.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()


def _url(page):
    return (SITE / page).as_uri()


def _wait(driver, condition, message):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S).until(condition, message)


def _find(driver, css):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def _script_errors(driver):
    return [entry["message"] for entry in driver.get_log("browser")]


def _broken_images(driver):
    """The <img> of the page that did not load (naturalWidth 0), and how many there are."""
    images = _find(driver, "article img")
    broken = [
        image.get_attribute("src")
        for image in images
        if not driver.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", image
        )
    ]
    return images, broken


def _click_link(driver, container_css, page):
    """Click the first link to `page` (e.g. "gallery.html") inside `container_css`."""
    links = [
        link
        for link in _find(driver, f"{container_css} a")
        if (link.get_attribute("href") or "").split("#")[0].endswith(page)
    ]
    assert links, f"no link to {page} in {container_css} of {driver.current_url}"
    text = links[0].text.strip()
    links[0].click()
    _wait(
        driver,
        lambda d: d.current_url.split("#")[0].endswith(page),
        f"{page} did not open",
    )
    return text


@pytest.mark.docs
def test_index_renders_with_title_and_navigation(browser):
    browser.get(_url("index.html"))
    heading = _find(browser, "article h1")
    assert heading and heading[0].text.strip(), "the index page has no title (h1)"
    assert "keras_smithing" in browser.title, f"unexpected <title>: {browser.title!r}"
    sidebar = _find(browser, ".sidebar-tree")
    assert sidebar and sidebar[0].is_displayed(), "the navigation sidebar is not shown"
    links = _find(browser, ".sidebar-tree a.reference")
    pages = [link.get_attribute("href").rpartition("/html/")[2] for link in links]
    for wanted in ("api/index.html", "gallery.html", "benchmarks.html"):
        assert wanted in pages, f"the sidebar has no link to {wanted}: {pages}"
    images, broken = _broken_images(browser)
    assert not broken, f"images that did not load on the index: {broken}"
    errors = _script_errors(browser)
    assert not errors, f"script errors on the index: {errors}"
    print(
        f"\nchecked: index.html renders ({heading[0].text.strip()!r}, <title> "
        f"{browser.title!r}); the sidebar shows {len(links)} links, to the API "
        "reference, the gallery and the benchmarks among them; no script errors"
    )


@pytest.mark.docs
def test_navigation_reaches_an_api_entry(browser):
    from selenium.webdriver.common.by import By

    browser.get(_url("index.html"))
    _click_link(browser, ".sidebar-tree", "api/index.html")
    _click_link(browser, "article", "api/keras_smithing.layers.html")
    entry = browser.find_element(By.ID, "keras_smithing.layers.DropConnectDense")
    signature = entry.text
    assert (
        "DropConnectDense(" in signature
        and "units" in signature
        and "rate" in signature
    ), f"DropConnectDense's signature does not name its arguments: {signature!r}"
    body = entry.find_element(By.XPATH, "following-sibling::dd")
    examples = body.find_elements(By.CSS_SELECTOR, "div.doctest, div.highlight-pycon")
    assert examples and ">>>" in examples[0].text, (
        "DropConnectDense's entry has no example"
    )
    assert "DropConnectDense" in examples[0].text
    parameters = body.find_elements(By.CSS_SELECTOR, "dl.field-list")
    assert parameters and "units" in parameters[0].text, "no argument list in the entry"
    errors = _script_errors(browser)
    assert not errors, f"script errors on the API page: {errors}"
    print(
        "\nchecked: index -> the sidebar's link to api/index.html -> its link to "
        "api/keras_smithing.layers.html; DropConnectDense shows its signature "
        f"({signature.splitlines()[0][:80]!r}), its arguments and a >>> example"
    )


@pytest.mark.docs
def test_gallery_and_benchmark_pages_show_their_images(browser):
    browser.get(_url("index.html"))
    title = _click_link(browser, ".sidebar-tree", "gallery.html")
    gallery, broken = _broken_images(browser)
    assert gallery, "the gallery page shows no image"
    assert not broken, f"gallery images that did not load: {broken}"
    browser.get(_url("benchmarks.html"))
    plots, broken = _broken_images(browser)
    assert plots, (
        "the benchmarks page shows no plot: docs/benchmarks.md must include "
        "docs/_generated/benchmark_figures.md"
    )
    assert not broken, f"benchmark plots that did not load: {broken}"
    shown = {Path(plot.get_attribute("src")).name for plot in plots}
    generated = {path.name for path in GENERATED.glob("*.png")}
    assert generated <= shown, f"benchmark plots not on the page: {generated - shown}"
    print(
        f"\nchecked: the gallery ({title!r}, from the sidebar) shows {len(gallery)} images "
        f"and the benchmarks page {len(plots)} plots (all {len(generated)} that tools.docs "
        "drew), every one loaded (naturalWidth > 0)"
    )


@pytest.mark.docs
def test_search_finds_an_object_and_links_to_its_entry(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(_url("index.html"))
    box = _find(browser, ".sidebar-search")
    assert box, "no search box in the sidebar"
    box[0].send_keys("WeightPruning", Keys.ENTER)
    _wait(
        browser,
        lambda d: "search.html" in d.current_url,
        "the search box did not search",
    )
    _wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a"),
        "the search for WeightPruning returned no result",
    )
    links = [
        a.get_attribute("href")
        for a in _find(browser, "#search-results ul.search li a")
    ]
    target = "api/keras_smithing.callbacks.html#keras_smithing.callbacks.WeightPruning"
    hits = [link for link in links if link.endswith(target)]
    assert hits, f"no search result links to {target}: {links}"
    browser.get(hits[0])
    entry = browser.find_element(By.ID, "keras_smithing.callbacks.WeightPruning")
    assert "WeightPruning(" in entry.text
    print(
        f"\nchecked: the sidebar's search box finds WeightPruning ({len(links)} results); "
        f"a result links to {target}, and following it shows the entry"
    )
