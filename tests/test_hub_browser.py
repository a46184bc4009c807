"""End to end on a real JupyterHub: a trainee logs in, the course arrives through the nbgitpuller
link from a local git repository of the course, and Module 1 runs in JupyterLab in Debian's
Chromium — widgets and the offline map render, and the page calls no outside host."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from PIL import Image

from tests.helpers.browser import outside_requests, run_all_cells
from tests.helpers.hub import LocalHub, course_repo

pytestmark = [pytest.mark.hub, pytest.mark.browser, pytest.mark.slow,
              pytest.mark.xdist_group(name="hub")]

MODULE_1 = "modules/01-warning-signs.ipynb"  # in the trainee distribution


def test_outside_requests_flags_every_host_but_this_machine():
    assert outside_requests([
        "http://127.0.0.1:8000/hub/login", "ws://localhost:1/api/kernels/x/channels",
        "data:image/png;base64,AAAA", "blob:http://127.0.0.1:8000/abc", "about:srcdoc",
    ]) == []
    assert outside_requests([
        "https://unpkg.com/leaflet.js", "https://pypi.org/pypi/x/json", "ftp://127.0.0.1/x",
        "http://127.0.0.2:8000/",
    ]) == ["https://unpkg.com/leaflet.js", "https://pypi.org/pypi/x/json", "ftp://127.0.0.1/x",
           "http://127.0.0.2:8000/"]


def nbgitpuller_link(hub_url: str, repo: str, branch: str) -> str:
    """The link as an organiser would make it: through the course's own command line."""
    out = subprocess.run(
        [sys.executable, "-m", "course", "link", "--hub", hub_url, "--repo", repo,
         "--branch", branch],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return out.stdout.strip()


def open_notebook(page, url: str, timeout: float = 120) -> None:
    """Open a notebook and wait for its kernel, answering JupyterLab's kernel dialog as a
    trainee would if it asks (it does when the kernel list arrives late on a busy server)."""
    page.goto(url)
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count() and dialog.first.is_visible():
            dialog.first.click()
        kernel = page.locator(f"{panel} .jp-KernelName").first.inner_text().strip()
        idle = page.locator(f'{panel} .jp-Notebook-ExecutionIndicator[data-status="idle"]')
        if kernel and kernel != "No Kernel" and idle.count():
            return
        time.sleep(0.5)
    raise AssertionError(f"the kernel of {url} did not start within {timeout:.0f}s")


def save_notebook(page, name: str, timeout: float = 60) -> None:
    """File > Save Notebook, then wait until the notebook's tab is no longer marked unsaved."""
    page.locator(".lm-MenuBar-itemLabel", has_text="File").first.click()
    page.locator('li[data-command="docmanager:save"]').first.click()
    tab = page.locator(".lm-TabBar-tab", has_text=name).first
    deadline = time.monotonic() + timeout
    while "jp-mod-dirty" in (tab.get_attribute("class") or ""):
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} was not saved within {timeout:.0f}s")
        time.sleep(0.5)


VISIBLE_POLYGONS_JS = """() => [...document.querySelectorAll('path.leaflet-interactive')]
    .filter(p => { const r = p.getBoundingClientRect();
                   return r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0
                       && r.left < innerWidth && r.top < innerHeight; }).length"""


def bring_into_view(page, element, tries: int = 20) -> None:
    """Scroll an output into the viewport. JupyterLab lays out off-screen cells lazily, so one
    scroll can land short while heights settle: retry until the element is really on screen."""
    height = page.viewport_size["height"]
    for _ in range(tries):
        element.evaluate("e => e.scrollIntoView({block: 'center'})")
        time.sleep(0.3)
        box = element.bounding_box()
        if box and box["y"] >= 0 and box["y"] + box["height"] <= height:
            return
    raise AssertionError("could not scroll the map into view")


def painted_colours(png: bytes) -> int:
    """How many distinct colours a screenshot has (a blank box has one or two)."""
    with Image.open(io.BytesIO(png)) as image:
        return len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])


def maps_seen(page) -> list[tuple]:
    """(iframe, what was seen) for each output iframe in which Leaflet drew a map: polygons
    drawn within the map's own view, and colours actually painted on screen."""
    seen = []
    for iframe in page.locator(".jp-OutputArea-output iframe").all():
        frame = iframe.element_handle().content_frame()
        if frame is None or not frame.locator(".leaflet-container").count():
            continue
        bring_into_view(page, iframe)
        seen.append((iframe, {"polygons": frame.evaluate(VISIBLE_POLYGONS_JS),
                              "colours": painted_colours(iframe.screenshot())}))
    return seen


def check_module_in_browser(browser, hub: LocalHub, link: str, module: str,
                            screenshot: Path) -> dict:
    """Log in as a trainee, follow the link, open `module`, run it; what was seen."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))  # pages and their iframes
    page = context.new_page()
    page.on("websocket", lambda ws: urls.append(ws.url))
    page.set_default_timeout(120_000)
    try:
        page.goto(f"{hub.url}/hub/login")
        page.fill("#username_input", "tom")
        page.fill("#password_input", "any password")
        page.click("#login_submit")
        # logged in: a hub page while the server starts, or (a server forked from the hub's
        # zygote is up within the hub's first wait) straight to it
        page.wait_for_url(lambda url: "/hub/login" not in url and ("/hub/" in url
                                                                   or "/user/tom/" in url))

        target = urlsplit(link)
        page.goto(link)  # spawns tom's server, clones the course, opens the orientation module
        page.wait_for_url("**/lab/tree/upstream/modules/00-orientation.ipynb",
                          timeout=180_000)
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()

        open_notebook(page, f"{target.scheme}://{target.netloc}/user/tom/lab/tree/upstream/{module}")
        run_all_cells(page)
        save_notebook(page, Path(module).name)

        widgets = page.locator(".jp-OutputArea-output .jupyter-widgets")
        seen = {
            "widgets": widgets.count(),
            "widget_errors": page.get_by_text("Error displaying widget").count()
            + page.get_by_text("Loading widget...").count(),
        }
        maps = maps_seen(page)
        seen["maps"] = [info for _, info in maps]
        if maps:
            bring_into_view(page, maps[0][0])  # the screenshot shows the first map
        seen["urls"] = list(urls)
        return seen
    finally:
        page.screenshot(path=str(screenshot))  # also when something failed: see what was shown
        context.close()


def executed_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_trainee_runs_module_1_from_the_link_offline(tmp_path, browser, artifacts):
    repo, branch = course_repo(tmp_path)
    with LocalHub(tmp_path / "hub", instructors=["ina"], trainees=["tom"]) as hub:
        link = nbgitpuller_link(hub.url, repo, branch)
        seen = check_module_in_browser(browser, hub, link, MODULE_1,
                                       artifacts / "hub-module1.png")
        saved = executed_notebook(hub.homes / "tom" / "upstream" / MODULE_1)
    assert hub.leftovers == [], f"processes left running after the hub stopped: {hub.leftovers}"

    code = [c for c in saved.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), "not every code cell ran"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"cells raised: {[(e.ename, e.evalue) for e in errors]}"

    assert seen["widgets"] > 0, "no ipywidgets rendered in the outputs"
    assert seen["widget_errors"] == 0, "a widget failed to render"
    assert seen["maps"], "no Leaflet map (.leaflet-container) rendered in the map iframe"
    assert all(m["polygons"] > 0 for m in seen["maps"]), f"a map drew no polygons: {seen['maps']}"
    assert all(m["colours"] > 5 for m in seen["maps"]), f"a map looks blank: {seen['maps']}"

    assert any("/git-pull" in u for u in seen["urls"]), "the course did not come via nbgitpuller"
    assert outside_requests(seen["urls"]) == [], "the page called outside hosts"
