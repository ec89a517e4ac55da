"""The web page at GET /, in a real browser: Debian's chromium driven by selenium through
its chromedriver, against the real gunicorn on loopback.

Nothing is downloaded: the driver and the browser are given by path (so Selenium
Manager never runs; it is made to fail if it is asked) and chromium runs with its
background networking, component updates and sync turned off, in a fresh profile.
The browser and the driver are the ``chromium`` and ``chromedriver`` on PATH
(`.ci/run` installs both with apt); where they are missing the browser tests skip,
saying why, and fail in CI (``conftest.need``).

NAMETAG_PAGE_SCREENSHOT=docs/page.png writes the screenshot of the tagged seed
sentence there (the README shows it); by default it goes to a temporary folder.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from conftest import tool
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.selenium_manager import SeleniumManager
from selenium.webdriver.support.ui import Select, WebDriverWait

from harness import ROOT, SEED_NAMES, SEED_TEXT, Gunicorn
from model import apikeys

INSTALL = "apt-get install chromium chromium-driver; .ci/run does"

pytestmark = pytest.mark.slow

WAIT = 60  # seconds: how long a hung page is waited for (it tags a text in well under one)
XSS = '<img src=x onerror="window.__pwned = 1"> Harry Potter <script>window.__pwned = 2</script>'


def chromium_flags(profile: str) -> list[str]:
    """Headless, nothing fetched from the network but the page, a fresh profile; no sandbox as root."""
    return (["--no-sandbox"] if os.geteuid() == 0 else []) + [
        "--headless", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-extensions", f"--user-data-dir={profile}"]


def _no_selenium_manager(*args, **kwargs):
    raise AssertionError("Selenium Manager must not run (it would download a driver)")


@pytest.fixture(scope="module")
def chromium():
    return tool("chromium", INSTALL)


@pytest.fixture(scope="module")
def chromedriver():
    return tool("chromedriver", INSTALL)


@pytest.fixture(scope="module")
def browser(chromium, chromedriver):
    profile = tempfile.mkdtemp(prefix="nametag-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in chromium_flags(profile) + ["--window-size=1100,1000"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SeleniumManager, "binary_paths", _no_selenium_manager)
        mp.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# ---- helpers

def open_page(browser, base: str, query: str = "") -> None:
    browser.get(base + "/" + query)
    wait_state(browser)


def wait_state(browser, text: str | None = None, want=("done",)) -> None:
    """Until the page has answered (for `text`, when given)."""
    def ready(d):
        state = d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
        if state not in want:
            return False
        return text is None or state == "error" or d.find_element(By.ID, "result").get_attribute("data-text") == text
    WebDriverWait(browser, WAIT).until(ready)


def names(browser, where: str = "result") -> list[str]:
    return [m.get_property("textContent") for m in browser.find_elements(By.CSS_SELECTOR, f"#{where} mark")]


def api_names(server, text: str) -> list[str]:
    """The names POST /tag finds in text: what the page must mark, at the same offsets."""
    resp = requests.post(server.url + "/tag", json={"text": text}, timeout=30)
    assert resp.status_code == 200
    return [text[e["start"]:e["end"]] for e in resp.json()["entities"]]


def type_and_send(browser, box_id: str, button_id: str, text: str, how: str) -> None:
    """Type text into a box, then send it with its button (how="button") or Ctrl+Enter."""
    box = browser.find_element(By.ID, box_id)
    box.clear()
    box.send_keys(text)
    if how == "button":
        browser.find_element(By.ID, button_id).click()
    else:
        box.send_keys(Keys.CONTROL, Keys.ENTER)


def type_and_submit(browser, text: str, how: str = "button") -> None:
    type_and_send(browser, "text", "submit", text, how)
    wait_state(browser, text)


def set_text_and_submit(browser, text: str) -> None:
    """Put a long text in the box as a paste would (send_keys would take minutes), then submit."""
    browser.execute_script("document.getElementById('text').value = arguments[0];", text)
    browser.find_element(By.ID, "submit").click()


def assert_no_markup_ran(browser, base: str) -> None:
    """XSS's <img src=x onerror=...>, had the page made it from a text, would have asked for
    /x before the test's own image (added now) is answered: wait for that answer, then
    check what the page fetched, and that no handler ran."""
    fetched = browser.execute_async_script("""
        const done = arguments[arguments.length - 1], img = new Image();
        img.addEventListener('error', () => done(performance.getEntriesByType('resource').map((e) => e.name)));
        img.src = '/x?sentinel';""")
    assert f"{base}/x?sentinel" in fetched and f"{base}/x" not in fetched, fetched
    assert browser.execute_script("return window.__pwned") is None


def assert_no_alert(browser) -> None:
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018


def contrast(rgb1, rgb2) -> float:
    def lum(rgb):
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted((lum(rgb1), lum(rgb2)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def rgb(css: str) -> tuple[int, int, int]:
    assert css.startswith("rgb"), css
    parts = css[css.index("(") + 1:css.index(")")].split(",")
    assert len(parts) == 3 or float(parts[3]) == 1, f"not opaque: {css}"
    return tuple(int(float(p)) for p in parts[:3])


# ---- the page

def test_page_loads_with_an_example_and_the_model(browser, gunicorn_server):
    model = requests.get(gunicorn_server.url + "/model", timeout=10).json()
    open_page(browser, gunicorn_server.url)
    assert "nametag" in browser.title
    example = browser.find_element(By.ID, "text").get_property("value")
    assert SEED_TEXT in example
    assert names(browser)[:2] == SEED_NAMES  # the example is tagged on load
    header = browser.find_element(By.ID, "model").text
    dev = model["metrics"]["dev"]
    assert model["name"] in header and model["version"] in header
    assert f"F1 {dev['f1']:.3f}" in header and f"precision {dev['precision']:.3f}" in header
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []  # no CSP refusal, no missing file, no failed request (/tag and /redact included)


def test_the_driver_is_the_installed_chromedriver(browser, chromedriver):
    """The driver process that runs is the installed one, not one Selenium Manager fetched."""
    exe = Path(f"/proc/{browser.service.process.pid}/exe").resolve()
    assert exe == Path(chromedriver).resolve()


def test_typed_seed_sentence_shows_exactly_the_two_names(browser, gunicorn_server, tmp_path):
    open_page(browser, gunicorn_server.url)
    type_and_submit(browser, SEED_TEXT)
    assert names(browser) == SEED_NAMES
    assert browser.find_element(By.ID, "result").get_property("textContent") == SEED_TEXT
    api = requests.post(gunicorn_server.url + "/tag", json={"text": SEED_TEXT}, timeout=10).json()
    assert json.loads(browser.find_element(By.ID, "raw").get_property("textContent")) == api
    marks = browser.find_elements(By.CSS_SELECTOR, "#result mark")
    assert [m.get_attribute("data-score") for m in marks] == [f"{e['score']:.2f}" for e in api["entities"]]
    assert [m.get_attribute("data-label") for m in marks] == ["PER", "PER"]
    # the PER tag is drawn, and the score shows on hover ...
    assert browser.execute_script("return getComputedStyle(arguments[0], '::after').content", marks[0]) == '"PER"'
    ActionChains(browser).move_to_element(marks[1]).perform()
    hover = browser.execute_script("return getComputedStyle(arguments[0], '::before').content", marks[1])
    assert hover == f'"score {api["entities"][1]["score"]:.2f}"'
    # ... and on keyboard focus
    browser.execute_script("arguments[0].focus()", marks[0])
    assert browser.switch_to.active_element == marks[0]
    focus = browser.execute_script("return getComputedStyle(arguments[0], '::before').content", marks[0])
    assert focus == f'"score {api["entities"][0]["score"]:.2f}"'
    shot = Path(os.environ.get("NAMETAG_PAGE_SCREENSHOT") or tmp_path / "page.png")
    if not shot.is_absolute():
        shot = ROOT / shot
    wait_redacted(browser, "replace")
    browser.set_window_size(1100, 1450)  # the whole page: names, slider, redaction preview, curl
    try:
        browser.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
        ActionChains(browser).move_to_element(marks[0]).perform()  # its score shows in the screenshot
        assert browser.save_screenshot(str(shot))
    finally:
        browser.set_window_size(1100, 1000)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_ctrl_enter_tags_and_the_share_link_and_curl_follow_the_text(browser, gunicorn_server):
    open_page(browser, gunicorn_server.url)
    text = "Ron Weasley thanked Zoë Saldaña."
    type_and_submit(browser, text, how="ctrl+enter")
    assert names(browser) == ["Ron Weasley", "Zoë Saldaña"]
    share = browser.find_element(By.ID, "share").get_attribute("href")
    assert share == f"{gunicorn_server.url}/?text={quote(text, safe='')}"
    curl = browser.find_element(By.ID, "curl").get_property("textContent")
    assert curl.startswith(f"curl -s {gunicorn_server.url}/tag ")
    if shutil.which("curl"):  # the command is the same request: it gets the same answer
        out = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30, check=True).stdout
        assert json.loads(out) == json.loads(browser.find_element(By.ID, "raw").get_property("textContent"))


def test_shareable_link_tags_on_load(browser, gunicorn_server):
    text = "😀 Harry Potter met Zoë Saldaña (née García).\nLater, Hermione Granger came."
    open_page(browser, gunicorn_server.url, "?text=" + quote(text, safe=""))
    assert browser.find_element(By.ID, "text").get_property("value") == text
    assert browser.find_element(By.ID, "result").get_attribute("data-text") == text
    found = names(browser)
    assert found == api_names(gunicorn_server, text)  # offsets right past an emoji
    assert {"Harry Potter", "Zoë Saldaña", "Hermione Granger"} <= set(found)


@pytest.mark.parametrize("how", ["typed", "shared link"])
def test_markup_in_the_text_is_shown_as_text_and_runs_nothing(browser, gunicorn_server, how):
    if how == "typed":
        open_page(browser, gunicorn_server.url)
        type_and_submit(browser, XSS)
    else:
        open_page(browser, gunicorn_server.url, "?text=" + quote(XSS, safe=""))
    assert browser.find_element(By.ID, "result").get_property("textContent") == XSS
    assert names(browser) == api_names(gunicorn_server, XSS)  # the model's names, if any, and only as text
    wait_redacted(browser, "replace")  # and through /redact, beside the redacted text
    redacted = requests.post(gunicorn_server.url + "/redact", json={"text": XSS}, timeout=10).json()["text"]
    assert browser.find_element(By.ID, "original").get_property("textContent") == XSS
    assert browser.find_element(By.ID, "redacted").get_property("textContent") == redacted
    assert_no_markup_ran(browser, gunicorn_server.url)
    assert_no_alert(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, "main img, main script")


@pytest.mark.parametrize("size,status", [(100_001, 422), (1_100_000, 413)])
def test_over_long_text_shows_the_problem_detail(browser, gunicorn_server, size, status):
    open_page(browser, gunicorn_server.url)
    text = ("Anna Smith met Boris Novak. " * (size // 28 + 1))[:size]
    problem = requests.post(gunicorn_server.url + "/tag", json={"text": text}, timeout=30)
    assert problem.status_code == status
    set_text_and_submit(browser, text)
    wait_state(browser, want=("error",))
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed() and error.get_attribute("role") == "alert"
    shown = error.text
    assert shown.startswith(str(status)) and problem.json()["detail"] in shown
    for messages in problem.json().get("errors", {}).values():
        assert all(m in shown for m in messages)
    assert names(browser) == []
    type_and_submit(browser, SEED_TEXT)  # and the page recovers
    assert not error.is_displayed() and names(browser) == SEED_NAMES


# ---- accessibility

def test_every_control_is_labelled_and_reachable_by_keyboard(browser, gunicorn_server):
    open_page(browser, gunicorn_server.url)
    unlabelled = browser.execute_script("""
        return [...document.querySelectorAll('input, select, textarea, button')].filter((c) =>
            !(c.labels && c.labels.length) && !c.getAttribute('aria-label') &&
            !c.getAttribute('aria-labelledby') && !c.textContent.trim()).map((c) => c.outerHTML);""")
    assert unlabelled == []
    box = browser.find_element(By.ID, "text")
    box.click()
    box.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "submit"
    for _ in range(3):  # and on to the highlighted names
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element.tag_name == "mark":
            break
    assert browser.switch_to.active_element.tag_name == "mark"


def test_highlight_colours_have_at_least_4_5_to_1_contrast(browser, gunicorn_server):
    open_page(browser, gunicorn_server.url)
    mark = browser.find_elements(By.CSS_SELECTOR, "#result mark")[0]
    style = browser.execute_script("""
        const s = getComputedStyle(arguments[0]), a = getComputedStyle(arguments[0], '::after');
        return [s.color, s.backgroundColor, a.color, a.backgroundColor];""", mark)
    name_fg, name_bg, tag_fg, tag_bg = map(rgb, style)
    assert contrast(name_fg, name_bg) >= 4.5
    assert contrast(tag_fg, tag_bg) >= 4.5


def test_usable_at_phone_width(browser, gunicorn_server):
    browser.set_window_size(360, 740)
    try:
        open_page(browser, gunicorn_server.url)
        width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"scrolls sideways: {width}"
        for element_id in ("text", "submit", "result"):
            rect = browser.find_element(By.ID, element_id).rect
            assert rect["x"] >= 0 and rect["x"] + rect["width"] <= width[1], (element_id, rect)
        type_and_submit(browser, SEED_TEXT)
        assert names(browser) == SEED_NAMES
    finally:
        browser.set_window_size(1100, 1000)


# ---- headers, assets, and the command-line bar

def test_security_headers_and_no_inline_script(gunicorn_server):
    page = requests.get(gunicorn_server.url + "/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    csp = {d.split()[0]: d.split()[1:] for d in page.headers["Content-Security-Policy"].split(";") if d.strip()}
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"]
    assert not any("'unsafe-inline'" in v or "'unsafe-eval'" in v for v in csp.values())
    assert page.headers["X-Content-Type-Options"] == "nosniff"

    class Scripts(HTMLParser):
        found: list = []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            assert not [a for a in attrs if a.startswith("on")] and "style" not in attrs, (tag, attrs)
            assert tag != "script" or attrs.get("src"), "a script without src"
            if tag in ("script", "link"):
                self.found.append(attrs.get("src") or attrs.get("href"))

        def handle_data(self, data):
            assert self.lasttag != "script" or not data.strip(), "inline script"

    parser = Scripts()
    parser.feed(page.text)
    assert parser.found and all(not u.startswith(("http:", "https:", "//")) for u in parser.found)  # no CDN
    for asset, ctype in (("static/page.js", "text/javascript"), ("static/page.css", "text/css")):
        r = requests.get(f"{gunicorn_server.url}/{asset}", timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(ctype)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "http://" not in r.text and "https://" not in r.text  # nothing fetched from elsewhere
    script = requests.get(f"{gunicorn_server.url}/static/page.js", timeout=10).text
    sinks = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser",
             "createContextualFragment", "srcdoc", "eval(", "Function(", "setTimeout(\"", "setInterval(\"")
    assert [s for s in sinks if s in script] == []  # text reaches the page as text nodes only


class Marks(HTMLParser):
    """The text of every <mark> inside #result."""

    def __init__(self):
        super().__init__()
        self.depth, self.in_mark, self.marks = 0, False, []

    def handle_starttag(self, tag, attrs):
        if dict(attrs).get("id") == "result":
            self.depth = 1
        elif self.depth and tag not in ("br",):
            self.depth += 1
        if self.depth and tag == "mark":
            self.in_mark = True
            self.marks.append("")

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1
        if tag == "mark":
            self.in_mark = False

    def handle_data(self, data):
        if self.in_mark:
            self.marks[-1] += data


def test_dump_dom_of_a_shared_link_has_the_two_names_highlighted(chromium, gunicorn_server, tmp_path):
    """The bar's command, `chromium --headless --virtual-time-budget=10000 --dump-dom URL`,
    with the flags that keep chromium off the network (and --no-sandbox as root)."""
    url = f"{gunicorn_server.url}/?text=Harry%20Potter%20and%20Hermione%20Granger%20invented%20a%20new%20spell."
    flags = [f for f in chromium_flags(str(tmp_path / "profile")) if f != "--headless"]
    out = subprocess.run([chromium, "--headless", "--virtual-time-budget=10000", *flags, "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    parser = Marks()
    parser.feed(out.stdout)
    assert parser.marks == SEED_NAMES, out.stdout[-3000:]


# ---- what the redaction issue (#11) adds: the threshold slider and the redaction preview

STORY = "Harry Potter met Hermione Granger. Later Harry thanked Hermione."


def wait_attributes(browser, *wants: tuple[tuple[str, str], str, str]) -> None:
    """Wait until every (element's locator, attribute, value) in wants holds."""
    WebDriverWait(browser, WAIT).until(
        lambda d: all(d.find_element(*where).get_attribute(name) == value for where, name, value in wants))


def wait_threshold(browser, setting: str) -> None:
    """Wait for the page tagged again with the threshold `setting`."""
    wait_attributes(browser, ((By.TAG_NAME, "body"), "data-state", "done"),
                    ((By.ID, "result"), "data-threshold", setting))


def test_threshold_slider_retags_and_shows_the_operating_table(browser, gunicorn_server):
    rows = requests.get(gunicorn_server.url + "/model", timeout=10).json()["operating_table"]["rows"]
    by_threshold = {r["threshold"]: r for r in rows}
    open_page(browser, gunicorn_server.url)
    type_and_submit(browser, STORY)
    slider = browser.find_element(By.ID, "threshold")
    assert slider.is_displayed() and browser.find_element(By.CSS_SELECTOR, "label[for=threshold]").is_displayed()
    shown = [None] + sorted(t for t in by_threshold if t is not None)  # the default decoding first
    assert int(slider.get_attribute("max")) == len(shown) - 1
    for key, expect in ((Keys.RIGHT, shown[1]), (Keys.END, shown[-1]), (Keys.HOME, None)):
        slider.send_keys(key)
        wait_threshold(browser, "default" if expect is None else str(expect))
        row = by_threshold[expect]
        operating = browser.find_element(By.ID, "operating").text
        assert f"precision {row['precision']:.3f}" in operating and f"recall {row['recall']:.3f}" in operating
        body = {"text": STORY} if expect is None else {"text": STORY, "threshold": expect}
        api = requests.post(gunicorn_server.url + "/tag", json=body, timeout=10).json()
        assert json.loads(browser.find_element(By.ID, "raw").get_property("textContent")) == api
        assert names(browser) == [e["text"] for e in api["entities"]]
        assert json.dumps(body, separators=(",", ":"), ensure_ascii=False) in \
            browser.find_element(By.ID, "curl").get_property("textContent")


def choose_operator(browser, operator: str) -> None:
    """Pick the operator in its menu and wait for the preview redacted with it."""
    Select(browser.find_element(By.ID, "operator")).select_by_value(operator)
    wait_redacted(browser, operator)


def wait_redacted(browser, operator: str) -> None:
    """Wait for the preview redacted with `operator`."""
    box = (By.ID, "redact-box")
    wait_attributes(browser, (box, "data-state", "done"), (box, "data-operator", operator))


@pytest.mark.parametrize("operator,text,want", [
    ("replace", SEED_TEXT, "[PERSON] and [PERSON] invented a new spell."),
    ("mask", SEED_TEXT, "***** ****** and ******** ******* invented a new spell."),
    ("pseudonym", STORY, "<PERSON_1> met <PERSON_2>. Later <PERSON_1> thanked <PERSON_2>."),
])
def test_redaction_preview_beside_the_original(browser, gunicorn_server, operator, text, want):
    api = requests.post(gunicorn_server.url + "/redact", json={"text": text, "operator": operator}, timeout=10).json()
    assert api["text"] == want
    open_page(browser, gunicorn_server.url)
    type_and_submit(browser, text)
    choose_operator(browser, operator)
    assert browser.find_element(By.ID, "redact-box").is_displayed()
    assert browser.find_element(By.ID, "original").get_property("textContent") == text
    assert browser.find_element(By.ID, "redacted").get_property("textContent") == want  # "<PERSON_1>" as text
    assert names(browser, "original") == [i["text"] for i in api["items"]]
    assert names(browser, "redacted") == [i["replacement"] for i in api["items"]]
    assert not browser.find_elements(By.CSS_SELECTOR, "#redacted *:not(mark)")


# ---- the restore box: paste an LLM's answer, see the names back

RESTORE_KEY = "page-restore-key-0123456789abcdefghijkl"
MERKEL = "Angela Merkel met Emmanuel Macron in Berlin."


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory):
    """The service with a restore key (gunicorn, 2 workers: the token may be opened by the other)."""
    yield from Gunicorn(env={"NAMETAG_RESTORE_KEY": RESTORE_KEY}, workers=2,
                        log_dir=tmp_path_factory.mktemp("gunicorn-keyed")).serving()


def wait_restored(browser, want=("done",)) -> None:
    WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(By.ID, "restore-box").get_attribute("data-state") in want)


def paste_answer_and_restore(browser, answer: str, how: str = "button") -> None:
    browser.execute_script("document.getElementById('restore-box').dataset.state = 'typing';")
    type_and_send(browser, "llm-answer", "restore-button", answer, how)


def preview_merkel_pseudonymised(browser, base: str) -> None:
    """Open the page at base, tag MERKEL and wait for its preview with the pseudonym operator."""
    open_page(browser, base)
    type_and_submit(browser, MERKEL)
    choose_operator(browser, "pseudonym")


def test_restore_box_puts_the_names_back_into_an_llm_answer(browser, keyed_server):
    open_page(browser, keyed_server.url)
    type_and_submit(browser, MERKEL)
    assert browser.find_element(By.ID, "restore-box").is_displayed() is False  # replace: nothing to restore
    choose_operator(browser, "pseudonym")
    assert browser.find_element(By.ID, "redacted").get_property("textContent") == "<PERSON_1> met <PERSON_2> in Berlin."
    assert browser.find_element(By.ID, "restore-box").is_displayed()
    answer = "Sure! <PERSON_2> thanked <PERSON_1>'s team, and PERSON_1 smiled. <PERSON_3> was not there."
    paste_answer_and_restore(browser, answer)
    wait_restored(browser)
    restored = browser.find_element(By.ID, "restored").get_property("textContent")
    assert restored == ("Sure! Emmanuel Macron thanked Angela Merkel's team, and Angela Merkel smiled. "
                        "<PERSON_3> was not there.")
    assert names(browser, "restored") == ["Emmanuel Macron", "Angela Merkel", "Angela Merkel"]
    summary = browser.find_element(By.ID, "restore-summary").text
    assert "<PERSON_1> ×2" in summary and "<PERSON_2> ×1" in summary and "<PERSON_3>" in summary
    # the exact redacted text comes back as the original, by the keyboard too
    paste_answer_and_restore(browser, "<PERSON_1> met <PERSON_2> in Berlin.", how="ctrl+enter")
    wait_restored(browser)
    assert browser.find_element(By.ID, "restored").get_property("textContent") == MERKEL
    assert not browser.find_elements(By.CSS_SELECTOR, "#restored *:not(mark)")  # text nodes and marks only


def test_restore_box_shows_markup_as_text(browser, keyed_server):
    preview_merkel_pseudonymised(browser, keyed_server.url)
    paste_answer_and_restore(browser, XSS.replace("Harry Potter", "<PERSON_1>"))
    wait_restored(browser)
    assert browser.find_element(By.ID, "restored").get_property("textContent") == XSS.replace(
        "Harry Potter", "Angela Merkel")
    assert_no_markup_ran(browser, keyed_server.url)
    assert not browser.find_elements(By.CSS_SELECTOR, "main img, main script")


def test_without_a_restore_key_the_page_says_so_and_still_previews(browser, gunicorn_server):
    preview_merkel_pseudonymised(browser, gunicorn_server.url)
    assert browser.find_element(By.ID, "redacted").get_property("textContent") == "<PERSON_1> met <PERSON_2> in Berlin."
    assert not browser.find_element(By.ID, "restore-box").is_displayed()
    assert "NAMETAG_RESTORE_KEY" in browser.find_element(By.ID, "restore-off").text


# ---- with API keys on: the page asks for a key and keeps it in the tab's session storage only

@pytest.fixture(scope="module")
def api_keyed_server(tmp_path_factory):
    """The service with API keys on (one key, named "page"), under gunicorn."""
    where = tmp_path_factory.mktemp("keyed")
    key = apikeys.new_key()
    (where / "keys").write_text(apikeys.file_line(key, "page") + "\n")
    server = Gunicorn(env={"NAMETAG_API_KEYS_FILE": str(where / "keys")}, workers=2, log_dir=where)
    try:
        server.wait_ready()
        server.key = key
        yield server
    finally:
        server.stop()


def enter_key(browser, key: str) -> None:
    box = browser.find_element(By.ID, "key")
    box.clear()
    box.send_keys(key, Keys.ENTER)


def stored_key(browser):
    return browser.execute_script("return window.sessionStorage.getItem('nametag.apiKey')")


def test_with_keys_on_the_page_asks_for_a_key_and_keeps_it_in_this_tab_only(browser, api_keyed_server):
    url = api_keyed_server.url
    shell = requests.get(url + "/", headers={"Accept": "text/html,*/*;q=0.8"}, timeout=10)
    assert shell.status_code == 401 and shell.headers["WWW-Authenticate"].startswith("Bearer")
    assert requests.get(url + "/model", timeout=10).status_code == 401
    browser.get(url + "/")  # a navigation carries no key: the page comes in the 401 and asks
    wait_state(browser, want=("key",))
    form = browser.find_element(By.ID, "key-form")
    assert form.is_displayed() and browser.switch_to.active_element.get_attribute("id") == "key"
    assert browser.find_element(By.ID, "key").get_attribute("type") == "password"
    assert names(browser) == [] and "…" in browser.find_element(By.ID, "model-name").text
    enter_key(browser, "not-the-key")  # a wrong key: asked again, with the reason
    WebDriverWait(browser, WAIT).until(lambda d: d.find_element(By.ID, "key-error").is_displayed())
    assert "not accepted" in browser.find_element(By.ID, "key-error").text and stored_key(browser) is None
    enter_key(browser, api_keyed_server.key)
    wait_state(browser)
    assert names(browser)[:2] == SEED_NAMES and not form.is_displayed()
    assert browser.find_element(By.ID, "key-status").is_displayed()
    wait_redacted(browser, "replace")  # /redact gets the key too
    # kept in this tab's session storage, nowhere else, and never shown
    assert stored_key(browser) == api_keyed_server.key
    assert browser.execute_script("return window.localStorage.length") == 0
    assert browser.get_cookies() == [] and browser.execute_script("return document.cookie") == ""
    assert api_keyed_server.key not in browser.page_source
    curl = browser.find_element(By.ID, "curl").get_property("textContent")
    assert 'Authorization: Bearer $NAMETAG_API_KEY' in curl
    if shutil.which("curl"):  # the command, with the key in that variable, gets the page's answer
        out = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30, check=True,
                             env={**os.environ, "NAMETAG_API_KEY": api_keyed_server.key}).stdout
        assert json.loads(out) == json.loads(browser.find_element(By.ID, "raw").get_property("textContent"))
    # a reload in the same tab keeps it; another tab has to be given it
    browser.refresh()
    wait_state(browser)
    assert names(browser)[:2] == SEED_NAMES
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    try:
        browser.get(url + "/")
        wait_state(browser, want=("key",))
        assert stored_key(browser) is None
    finally:
        browser.close()
        browser.switch_to.window(first)
    browser.find_element(By.ID, "key-forget").click()  # and it can be forgotten
    wait_state(browser, want=("key",))
    assert stored_key(browser) is None and names(browser) == []
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE" and url in e["message"]]
    assert severe and all("status of 401" in m for m in severe), severe  # only the refused requests
