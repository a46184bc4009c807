"""Module 4 in real JupyterLab and Debian's Chromium: the notebook runs, the response simulator
responds to clicks, the offline map renders, and the page calls no outside host."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from course import workspace
from tests.helpers.browser import PROMPTS_JS, outside_requests
from tests.helpers.lab_server import running_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = "modules/04-responsibility-to-protect.ipynb"


@pytest.fixture()
def lab(tmp_path):
    """A trainee's JupyterLab on a fresh workspace (it takes autosaves, not the repository)."""
    workspace.seed(tmp_path)
    token = "r2p-test"
    with running_lab(tmp_path, token) as base:
        yield f"{base}/lab/tree/{NOTEBOOK}?token={token}"


def start_kernel(page, timeout: float = 120) -> None:
    """Wait until the notebook's kernel is idle, answering JupyterLab's "Select Kernel" dialog
    (it appears when the kernel is slow to start on a loaded machine) with the default kernel."""
    deadline = time.monotonic() + timeout
    idle = page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
    choose = page.locator(".jp-Dialog button", has_text="Select")
    while time.monotonic() < deadline:
        if choose.count() and choose.first.is_visible():
            choose.first.click()
        elif idle.count():
            return
        time.sleep(1)
    raise AssertionError("the notebook's kernel did not start")


def run_all(page, timeout: float = 300) -> None:
    """Run > Run All Cells, asking again if the kernel dropped the request (no cell queued)."""
    deadline = time.monotonic() + timeout
    asked = 0
    choose = page.locator(".jp-Dialog button", has_text="Select")
    while time.monotonic() < deadline:
        if choose.count() and choose.first.is_visible():
            choose.first.click()  # a late "Select Kernel" dialog would block the menu
            continue
        prompts = page.evaluate(PROMPTS_JS)
        if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            return
        if asked == 0 or (asked < 3 and all(p == "[ ]:" for p in prompts)):
            try:
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click(timeout=10_000)
                page.locator('li[data-command="runmenu:run-all"]').click(timeout=10_000)
            except PlaywrightTimeout:
                page.keyboard.press("Escape")  # close whatever was in the way, then try again
                continue
            asked += 1
            time.sleep(20)
        time.sleep(1)
    raise AssertionError(f"cells did not all run: prompts {page.evaluate(PROMPTS_JS)}")


def test_simulator_and_map_work_in_jupyterlab(browser, lab, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda ws: requests.append(ws.url))
    try:
        page.goto(lab, wait_until="domcontentloaded", timeout=120_000)
        start_kernel(page)
        try:
            run_all(page)
        except Exception:
            page.screenshot(path=str(artifacts / "r2p_run_all_failed.png"), full_page=True)
            raise

        # the output that holds the simulator (found by a button that never changes its label)
        simulator = page.locator(".jp-OutputArea-output").filter(
            has=page.locator("button", has_text="End this phase")).first
        simulator.scroll_into_view_if_needed()
        simulator.get_by_text("Phase 1 of 4").wait_for(timeout=15_000)
        simulator.locator("select").first.select_option(
            label="Reject incitement and enforce the law against it (national authorities)")
        simulator.locator("button", has_text="Add to plan").click()
        simulator.get_by_text("Added: Reject incitement").wait_for(timeout=15_000)
        simulator.locator("button", has_text="End this phase").click()
        simulator.get_by_text("Prevention starts too late").wait_for(timeout=15_000)
        simulator.get_by_text("Phase 2 of 4: Escalation").wait_for(timeout=15_000)
        summary = simulator.locator("table").last.inner_text()
        assert "The protection responsibilities of the State" in summary

        # the timeline filters by theme
        timeline = page.locator(".jp-OutputArea-output").filter(
            has=page.locator("option", has_text="all themes")).first
        timeline.scroll_into_view_if_needed()
        timeline.locator("select").first.select_option(label="women")
        timeline.get_by_text("1 report", exact=True).wait_for(timeout=15_000)
        timeline.get_by_text("A/74/964").wait_for(timeout=15_000)
        assert timeline.get_by_text("A/63/677").count() == 0

        # the offline map renders inside its sandboxed frame, with Leaflet's panes
        frame = page.frame_locator("iframe[title=\"Where the plan's measures apply\"]")
        frame.locator(".leaflet-pane path").first.wait_for(state="attached", timeout=30_000)
        simulator.screenshot(path=str(artifacts / "r2p_simulator.png"))
    finally:
        context.close()
    leaks = outside_requests(requests)
    assert not leaks, f"the page called outside hosts: {leaks[:5]}"
