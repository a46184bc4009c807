"""Every module as a trainee meets it: real JupyterLab, Debian's Chromium, Run All.

For each module in the syllabus: every cell runs, no output is an error or a broken widget, the
page calls no outside host, and axe-core (pinned in deploy/package.json) finds no critical or
serious accessibility violation in the course's own outputs (cell outputs and the maps' frames).
JupyterLab's own interface is not the course's: its violations are counted and recorded, not
asserted. Each module leaves, in ``artifacts/``, a screenshot after Run All and
``axe-<module>.json`` with both counts and the rules that failed.

One JupyterLab serves every module (starting it is the slow part); each module gets a fresh
browser page and its kernel is shut down afterwards.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from course import syllabus, workspace
from tests.helpers.browser import outside_requests, run_all, start_kernel
from tests.helpers.lab_server import running_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("modules_browser")]

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "deploy" / "node_modules" / "axe-core" / "axe.min.js"
TOKEN = "modules-test"
IMPACTS = ("critical", "serious", "moderate", "minor")
COURSE_OUTPUT = ".jp-OutputArea-output"
# WCAG 2.x A and AA, and axe's best practices (headings, landmarks, region names).
AXE_OPTIONS = {"resultTypes": ["violations"], "iframes": False,
               "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                     "wcag22aa", "best-practice"]}}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One trainee JupyterLab on a fresh workspace for every module of this file."""
    folder = tmp_path_factory.mktemp("workspace")
    workspace.seed(folder)
    with running_lab(folder, TOKEN) as base:
        yield base


def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci --prefix deploy` (make test does)")
    return AXE.read_text(encoding="utf-8")


def run_axe(frame, context) -> list[dict]:
    """axe-core's violations in ``context`` of ``frame`` (axe is injected once per frame)."""
    if not frame.evaluate("() => typeof window.axe === 'object'"):
        frame.add_script_tag(content=axe_source())
    return frame.evaluate(
        "([context, options]) => axe.run(context, options).then(r => r.violations.map(v => ({"
        "  id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,"
        "  targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))",
        [context, AXE_OPTIONS])


def map_frames(page) -> list:
    """The frames the course's outputs opened (folium maps), not JupyterLab's own."""
    frames = []
    for frame in page.frames:
        if frame is page.main_frame:
            continue
        element = frame.frame_element()
        if element.evaluate(f"e => e.closest({COURSE_OUTPUT!r}) !== null"):
            frames.append(frame)
    return frames


def counts(violations: list[dict]) -> dict[str, dict[str, int]]:
    """Per impact: how many rules failed and on how many elements."""
    rules = Counter(v["impact"] for v in violations)
    nodes = Counter()
    for v in violations:
        nodes[v["impact"]] += v["nodes"]
    return {impact: {"rules": rules[impact], "nodes": nodes[impact]} for impact in IMPACTS}


def _api(base: str, path: str, method: str = "GET", body: dict | None = None):
    request = urllib.request.Request(f"{base}/api/{path}?token={TOKEN}", method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def shut_down_kernels(base: str) -> None:
    """Free the machine for the next module: end every session and kernel of this server."""
    for session in _api(base, "sessions"):
        _api(base, f"sessions/{session['id']}", "DELETE")
    for kernel in _api(base, "kernels"):
        _api(base, f"kernels/{kernel['id']}", "DELETE")


def error_outputs(page) -> list[str]:
    """Outputs that show a traceback, and widgets that failed to display."""
    texts = page.locator(f".jp-NotebookPanel:not(.lm-mod-hidden) {COURSE_OUTPUT}").all_inner_texts()
    return [t[:300] for t in texts if "Traceback" in t or "Error displaying widget" in t]


@pytest.mark.timeout(900)  # a second try of Run All fits in it (a module takes about a minute)
@pytest.mark.parametrize("module", syllabus.modules(), ids=lambda m: m.id)
def test_module_runs_offline_and_its_outputs_pass_axe(module, lab, browser, artifacts):
    started = time.monotonic()
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda ws: urls.append(ws.url))
    record = {"module": module.id, "notebook": module.trainee_path}
    try:
        # A JupyterLab workspace of its own: the shared server would otherwise reopen (and
        # start kernels for) every module an earlier test opened.
        url = f"{lab}/lab/workspaces/{module.id}/tree/{module.trainee_path}?token={TOKEN}"
        for attempt in (1, 2):
            page.goto(url, wait_until="domcontentloaded", timeout=120_000)
            start_kernel(page)
            try:
                run_all(page, timeout=240)
                break
            except AssertionError:
                # On a loaded machine a kernel now and then takes no request: note it, start
                # afresh once (a second failure fails the test).
                page.screenshot(path=str(artifacts / f"{module.id}-run-all-failed-{attempt}.png"))
                if attempt == 2:
                    raise
                shut_down_kernels(lab)
            finally:
                record["run_all_attempts"] = attempt
                record["run_all_seconds"] = round(time.monotonic() - started, 1)
        time.sleep(3)  # widgets and map frames render after the last cell reports done
        page.screenshot(path=str(artifacts / f"{module.id}-after-run-all.png"))
        errors = error_outputs(page)

        axe_started = time.monotonic()
        course = run_axe(page.main_frame, {"include": [[COURSE_OUTPUT]]})
        frames = map_frames(page)
        for frame in frames:
            course += [{**v, "frame": frame.frame_element().get_attribute("title")}
                       for v in run_axe(frame, {"exclude": []})]
        chrome = run_axe(page.main_frame, {"exclude": [[COURSE_OUTPUT]]})
        record.update({
            "axe_version": page.evaluate("() => axe.version"),
            "axe_seconds": round(time.monotonic() - axe_started, 1),
            "map_frames": len(frames),
            "course": counts(course), "chrome": counts(chrome),
            "course_violations": course, "chrome_violations": chrome,
        })
    finally:
        record["seconds"] = round(time.monotonic() - started, 1)
        (artifacts / f"axe-{module.id}.json").write_text(json.dumps(record, indent=1) + "\n")
        context.close()
        shut_down_kernels(lab)

    assert not errors, f"{module.id}: outputs show errors: {errors}"
    leaks = outside_requests(urls)
    assert not leaks, f"{module.id}: the page called outside hosts: {leaks[:5]}"
    severe = [f"{v['impact']} {v['id']} ({v['nodes']}): {v['help']} at {v['targets'][:2]}"
              + (f" in frame {v['frame']!r}" if "frame" in v else "")
              for v in course if v["impact"] in ("critical", "serious")]
    assert not severe, f"{module.id}: axe-core finds in the course's outputs:\n" + "\n".join(severe)
