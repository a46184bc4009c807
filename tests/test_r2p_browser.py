"""Module 4 in real JupyterLab and Debian's Chromium: the notebook runs, the response simulator
responds to clicks, the offline map renders, and the page calls no outside host."""

from __future__ import annotations

import pytest

from course import workspace
from tests.helpers.browser import outside_requests, run_all, start_kernel
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
