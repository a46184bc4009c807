"""Module 3 in real JupyterLab and Chromium: the trainee runs the notebook, uploads a file into
the evidence locker through the FileUpload widget, verifies, alters the working copy, sees the
check fail, and restores it; then fills in the incident form, which will not save testimony
until consent is ticked. The page calls no outside host.

(This test found that the kernel can run widget callbacks on another thread than the cell that
opened the locker; see course/evidence/store.py.)"""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest

from course import workspace
from tests.helpers.browser import outside_requests, run_all_cells
from tests.helpers.lab_server import running_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]

@pytest.fixture
def lab(tmp_path):
    """A trainee's JupyterLab on a fresh workspace (so autosave never touches the repository)."""
    workspace.seed(tmp_path)
    token = "m3-test"
    with running_lab(tmp_path, token) as url:
        yield url, token


def wait_for_kernel(url: str, token: str, timeout: float = 120) -> None:
    """Until the notebook's kernel has started and is idle (running cells earlier is lost)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/kernels?token={token}", timeout=5) as resp:
            if any(k["execution_state"] == "idle" for k in json.load(resp)):
                return
        time.sleep(0.5)
    raise AssertionError(f"no kernel became idle within {timeout:.0f}s")


def test_trainee_uploads_verifies_and_sees_tampering_in_jupyterlab(lab, browser, artifacts, tmp_path):
    url, token = lab
    upload = tmp_path / "fictional-leaflet.txt"
    upload.write_text("FICTIONAL leaflet found near Tobrenne Mill, for training only.\n")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))
    page = context.new_page()
    page.on("websocket", lambda ws: urls.append(ws.url))
    page.set_default_timeout(120_000)
    try:
        page.goto(f"{url}/lab/tree/modules/03-documentation.ipynb?token={token}")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
        wait_for_kernel(url, token)
        page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for()
        run_all_cells(page)
        assert page.get_by_text("Error displaying widget").count() == 0
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert not [t for t in errors.all_inner_texts() if "Traceback" in t]

        # the locker view: the widget box that holds both the upload and the verify buttons
        desk = page.locator(".widget-vbox", has=page.get_by_role("button", name="Verify locker")).filter(
            has=page.get_by_role("button", name="Add to locker")).last
        desk.scroll_into_view_if_needed()
        with page.expect_file_chooser() as chooser:  # the trainee clicks and picks a file
            desk.locator(".widget-upload").click()
        chooser.value.set_files(str(upload))
        desk.get_by_placeholder("who gave it to you, e.g. Witness A").fill("Witness B (pseudonym)")
        desk.get_by_placeholder("how, e.g. copied from phone by cable").fill("upload in training")
        desk.get_by_role("button", name="Add to locker").click()
        page.get_by_text("Collected fictional-leaflet.txt as E0003").wait_for()

        desk.get_by_role("button", name="Verify locker").click()
        page.get_by_text("All intact").last.wait_for()
        desk.get_by_role("button", name="Alter working copy").click()
        desk.get_by_role("button", name="Verify locker").click()
        page.get_by_text("E0003: a working copy differs from the evidence").wait_for()
        desk.get_by_role("button", name="Restore working copy").click()
        desk.get_by_role("button", name="Verify locker").click()
        page.get_by_text("All intact").last.wait_for()
        page.screenshot(path=str(artifacts / "m3-locker-view.png"), full_page=False)

        # the incident form: Save stays disabled for testimony until consent is ticked
        form = page.locator(".widget-vbox", has=page.get_by_role("button", name="Save record")).last
        form.scroll_into_view_if_needed()
        form.get_by_placeholder("YYYY-MM-DD", exact=True).fill("2024-03-01")
        form.get_by_placeholder("YYYY-MM-DD (optional)").fill("2024-03-02")
        form.get_by_placeholder("group, e.g. Veleni").fill("Veleni")
        form.get_by_placeholder("e.g. S01").fill("S01")
        form.get_by_placeholder("Short and factual; no names, no graphic detail").fill(
            "Two people held overnight at a roadblock.")
        save = form.get_by_role("button", name="Save record")
        assert save.is_disabled()
        form.get_by_text("Informed consent recorded").click()
        save.wait_for(state="visible")
        page.wait_for_function("b => !b.disabled", arg=save.element_handle())
        save.click()
        try:
            form.get_by_text(re.compile(r"Saved as IR\d{4}")).wait_for(timeout=20_000)
        finally:
            page.screenshot(path=str(artifacts / "m3-incident-form.png"), full_page=False)
    finally:
        context.close()
    assert outside_requests(urls) == [], "the page called outside hosts"
