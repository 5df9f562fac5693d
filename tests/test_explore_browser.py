"""``dynlatch explore`` in a real headless Chromium (Debian's chromium and chromedriver, driven by selenium): the page
loads, and dragging the SimpleRNN's U slider across the pitchfork at U = 1 changes the number of stable fixed points
shown from 1 to 2. The screenshot is kept in ``results/test-artefacts/explore.png``."""

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("bokeh", reason="the explorer needs Bokeh (the explore extra)")
webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium (the test extra)")
from selenium.webdriver.chrome.service import Service  # noqa: E402  (after the selenium check)
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402

ARTEFACTS = Path(__file__).resolve().parent.parent / "results" / "test-artefacts"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1000")
# Bokeh draws every widget inside shadow roots: these scripts walk them.
STABLE_COUNT_JS = """
let text = null;
const walk = (n) => { if (n.shadowRoot) walk(n.shadowRoot); for (const c of (n.children || [])) walk(c);
                      if (n.id === 'stable-count') text = n.textContent; };
walk(document.documentElement);
return text;
"""
SLIDER_JS = """
let found = null;
const walk = (n, root) => {
  if (n.shadowRoot) walk(n.shadowRoot, n.shadowRoot);
  for (const c of (n.children || [])) walk(c, root);
  if (n.classList && n.classList.contains('bk-slider-title') && n.textContent.startsWith(arguments[0] + ':'))
    found = [root.querySelector('.noUi-handle'), root.querySelector('.noUi-base'), n.textContent];
};
walk(document.documentElement, document);
return found;
"""


def wait_for(condition, *, limit: float = 90.0, what: str):
    """Poll ``condition()`` until it returns something truthy (a bound on the wait, not a timing assertion)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def explorer(free_port):
    server = subprocess.Popen([sys.executable, "-m", "dynlatch", "explore", "--port", str(free_port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert f"http://127.0.0.1:{free_port}/" in line, (line, server.stderr.read() if server.poll() else "")
        yield f"http://127.0.0.1:{free_port}/"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture
def browser(chromium_tools):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_tools["chromium"]
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tempfile.mkdtemp(prefix='dynlatch-chromium-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(chromium_tools["chromedriver"]))
    try:
        yield driver
    finally:
        driver.quit()


def test_dragging_U_across_the_pitchfork_gives_two_stable_fixed_points(explorer, browser):
    browser.get(explorer)
    assert browser.title == "dynlatch explore"
    before = wait_for(lambda: browser.execute_script(STABLE_COUNT_JS), what="the fixed-point count")
    assert before.startswith("stable fixed points: 1 "), before  # the page starts at U = 0.5
    handle, track, title = browser.execute_script(SLIDER_JS, "U")
    assert title == "U: 0.50"
    # the slider spans U in [-4, 4]: drag its handle from 0.5 to 1.5, past the pitchfork at U = 1
    ActionChains(browser).click_and_hold(handle).move_by_offset(round(track.size["width"] / 8), 0).release().perform()
    after = wait_for(lambda: (t := browser.execute_script(STABLE_COUNT_JS)) != before and t, what="a new count")
    moved = browser.execute_script(SLIDER_JS, "U")[2]
    assert 1.0 < float(moved.split(":")[1]) <= 2.0, moved
    assert after.startswith("stable fixed points: 2 of 3"), after
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTEFACTS / "explore.png"))
