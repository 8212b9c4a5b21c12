"""The dashboard in a real browser: Playwright drives Debian's chromium.

The test starts ``python -m abm.dashboard`` on a free local port, loads the page with every
request to anything but that server refused (so the page must render from the bundled
solara-assets, as it would offline), picks a scenario, moves a slider, runs 12 months at
size small, checks that the plots render and that every headline number on the page equals
the run's parquet table, reruns the command line the page shows and compares its tables byte
for byte, and saves a screenshot to ``outputs/test-artefacts/dashboard.png``.

chromium is installed by ``make setup-test`` (scripts/setup.sh) when missing. Where it cannot
be, ``ABM_SKIP_BROWSER_TEST=1`` skips this test; otherwise a missing browser is a failure.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from abm import plots
from abm.dashboard import CONTROLS
from abm.dashboard.controls import format_value
from abm.summary import HEADLINE, month_label

from ..experiments.conftest import REPO, TABLE_FILES, abm_env, run_abm

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT = REPO / "outputs" / "test-artefacts" / "dashboard.png"
START_TIMEOUT_S = 180
RUN_TIMEOUT_MS = 180_000

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if os.environ.get("ABM_SKIP_BROWSER_TEST") == "1":
        pytest.skip("ABM_SKIP_BROWSER_TEST=1")
    if not CHROMIUM.is_file():
        pytest.fail("no /usr/bin/chromium: run `make setup-test` (it installs Debian's "
                    "chromium) or set ABM_SKIP_BROWSER_TEST=1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("dashboard")
    port = _free_port()
    log = open(base / "server.log", "w")  # closed at teardown
    proc = subprocess.Popen([sys.executable, "-m", "abm.dashboard", "--port", str(port),
                             "--out", str(base / "runs")], cwd=base, env=abm_env(),
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    if proc.poll() is not None:
        log.close()
        pytest.fail(f"the dashboard exited with {proc.returncode}:\n"
                    f"{(base / 'server.log').read_text()[-3000:]}")
    yield url, base
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()
        proc.wait()
    log.close()


def _select(page, testid: str, option: str) -> None:
    page.get_by_test_id(testid).locator(".v-select__slot").click()
    page.locator(".menuable__content__active .v-list-item", has_text=option).first.click()


def test_dashboard_runs_a_scenario_and_shows_its_tables(browser, server, tmp_path):
    url, base = server
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    outside: list[str] = []

    def only_local(route) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(url, timeout=60_000)
    page.get_by_test_id("run-button").wait_for(timeout=120_000)

    # a scenario, 12 months (the months slider from its first value), one slider step
    _select(page, "control-scenario", "energy_shock")
    page.get_by_text("Electricity prices rise 2.5x everywhere").wait_for()
    months = page.get_by_test_id("control-months").locator("[role=slider]")
    months.focus()
    page.keyboard.press("Home")
    for _ in range(11):
        page.keyboard.press("ArrowRight")
    page.get_by_text("January 2025 to 2025-12").wait_for()
    slider = page.get_by_test_id("param-demand.elasticity").locator("[role=slider]")
    slider.focus()
    page.keyboard.press("ArrowRight")
    control = next(c for c in CONTROLS if c.key == "demand.elasticity")
    step = control.slider(control.default)[2]
    moved = format_value("float", control.default + step)
    page.get_by_test_id("param-demand.elasticity").get_by_text(
        f"now {moved} (scenario: {format_value('float', control.default)})").wait_for()

    page.get_by_test_id("run-button").locator("button").click()
    page.get_by_test_id("headline").wait_for(timeout=RUN_TIMEOUT_MS)
    assert page.get_by_test_id("run-status").inner_text().startswith("done in")

    # the command line, and the run it describes
    command = page.get_by_test_id("command-a").inner_text().strip()
    assert command == ("python -m abm scenario=energy_shock size=small months=12 seed=0 "
                       f"demand.elasticity={moved}")
    run_dir = Path(page.get_by_test_id("run-dir-a").inner_text().strip())
    assert run_dir.is_relative_to(base / "runs") and (run_dir / "manifest.json").is_file()
    world = pd.read_parquet(run_dir / "global.parquet")
    assert world["month"].tolist() == list(range(12))

    # every headline number on the page is the table's
    cells = page.locator("[data-testid^='metric-']")
    by_col = {m.column: m for m in HEADLINE}
    checked = set()
    for i in range(cells.count()):
        cell = cells.nth(i)
        column, year, month = cell.get_attribute("data-testid")[len("metric-"):].rsplit("-", 2)
        row = world[world["month"].map(month_label) == f"{year}-{month}"]
        assert len(row) == 1, (column, year, month)
        expected = float(row[column].iloc[0])
        assert float(cell.get_attribute("data-value")) == expected, column
        assert cell.inner_text().strip() == by_col[column].format(expected), column
        checked.add(column)
    assert {"hhi_revenue", "rent_share", "unserved_share", "gini_access"} <= checked
    assert checked == {m.column for m in HEADLINE if m.column in world.columns}

    # the plots render (one image per panel with data), with a real size
    expected_plots = [p.key for p in plots.PANELS if p.present(world)]
    expected_plots += [p.key for p in plots.NATION_PANELS]
    for key in expected_plots:
        img = page.get_by_test_id(f"plot-{key}").locator("img")
        img.wait_for(timeout=60_000)
        width = img.evaluate("el => el.complete ? el.naturalWidth : 0")
        assert width > 300, (key, width)

    # downloads are offered
    assert page.get_by_text("A: global.parquet").count() == 1

    # nothing was fetched from outside the dashboard: it renders offline
    assert outside == []

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1600, "height": 2300})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 50_000
    page.close()

    # the command the page shows writes the same bytes
    cli = tmp_path / "cli"
    proc = run_abm(*shlex.split(command)[3:], f"hydra.run.dir={cli}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in (*TABLE_FILES, "config.yaml"):
        assert (cli / name).read_bytes() == (run_dir / name).read_bytes(), name


def test_dashboard_compares_two_scenarios(browser, server):
    url, _ = server
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(url, timeout=60_000)
    page.get_by_test_id("run-button").wait_for(timeout=120_000)
    months = page.get_by_test_id("control-months").locator("[role=slider]")
    months.focus()
    page.keyboard.press("Home")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.get_by_text("January 2025 to 2025-06").wait_for()
    _select(page, "control-compare", "open_weights_surge")
    page.get_by_test_id("run-button").locator("button").click()
    page.get_by_test_id("command-b").wait_for(timeout=RUN_TIMEOUT_MS)
    assert page.get_by_test_id("command-a").inner_text().strip() == (
        "python -m abm scenario=baseline size=small months=6 seed=0")
    assert page.get_by_test_id("command-b").inner_text().strip() == (
        "python -m abm scenario=open_weights_surge size=small months=6 seed=0")
    run_b = Path(page.get_by_test_id("run-dir-b").inner_text().strip())
    world_b = pd.read_parquet(run_b / "global.parquet")
    cells = page.locator("[data-testid^='metric-b-']")
    assert cells.count() >= 10
    for i in range(cells.count()):
        column = cells.nth(i).get_attribute("data-testid")[len("metric-b-"):]
        assert float(cells.nth(i).get_attribute("data-value")) == float(
            world_b[column].iloc[-1]), column
    assert page.get_by_text("Solid lines: A = baseline; dashed: B = open_weights_surge").count()
    page.get_by_test_id("plot-rents").locator("img").wait_for()
    page.close()
