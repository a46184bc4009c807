"""A real JupyterHub (deploy/jupyterhub_config.py, configurable-http-proxy from deploy/'s lock)
on 127.0.0.1: who reaches what, the exchange directory, and the servers' offline settings."""

from __future__ import annotations

import json
import os
import pwd
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from grading import course_root
from tests.helpers.hub import DEPLOY, ROOT, LocalHub

pytestmark = [pytest.mark.hub, pytest.mark.xdist_group(name="hub")]

EXERCISE = "ex01_warning_signs"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    running = LocalHub(tmp_path_factory.mktemp("hub"), instructors=["ina"], trainees=["tom", "tia"])
    # the grading course directory, as deploy/README.md sets it up: the exercise sources
    course_root.copy_source(ROOT / "course" / "exercises" / "source" / EXERCISE,
                            running.grader_home / running.course_id / "source" / EXERCISE)
    with running:
        running.start_server("tom", "tia")
        yield running
    assert running.leftovers == [], f"processes left after the hub stopped: {running.leftovers}"


def xsrf(session: requests.Session, path: str) -> dict[str, str]:
    """The header a Jupyter server wants with cookie-authenticated POSTs under `path`."""
    return {"X-XSRFToken": session.cookies.get("_xsrf", path=path)}


def get_when_up(session: requests.Session, url: str, timeout: float = 90) -> requests.Response:
    """GET, retrying while the proxy has no route yet (the service is still starting)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = session.get(url, timeout=30)
        if reply.status_code not in (502, 503, 404) or time.monotonic() > deadline:
            return reply
        time.sleep(0.5)


def test_instructor_reaches_the_formgrader(hub):
    reply = get_when_up(hub.login("ina"), f"{hub.url}/services/upstream/formgrader")
    assert reply.status_code == 200, reply.url
    assert "nbgrader formgrade" in reply.text and "Manage Assignments" in reply.text


def test_trainee_is_refused_at_the_formgrader(hub):
    tom = hub.login("tom")
    get_when_up(hub.login("ina"), f"{hub.url}/services/upstream/formgrader")  # service is up
    reply = tom.get(f"{hub.url}/services/upstream/formgrader", timeout=30)
    assert reply.status_code == 403
    assert "/hub/api/oauth2/authorize" in reply.url  # refused by the hub, not by accident
    # and a trainee's own server has no formgrader to fall back on
    assert tom.get(f"{hub.url}/user/tom/formgrader", timeout=30).status_code == 404


def test_trainee_is_refused_at_another_trainees_server(hub):
    tom = hub.login("tom")
    assert tom.get(f"{hub.url}/user/tom/lab", timeout=60).status_code == 200
    reply = tom.get(f"{hub.url}/user/tia/lab", timeout=60)
    assert reply.status_code == 403
    assert "/hub/api/oauth2/authorize" in reply.url
    assert tom.get(f"{hub.url}/user/tia/api/contents", timeout=30).status_code == 403


def test_trainees_lab_is_offline_and_has_no_grading_tools(hub):
    page = hub.login("tom").get(f"{hub.url}/user/tom/lab", timeout=60).text
    config = json.loads(re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S
    ).group(1))
    disabled = config["disabledExtensions"]
    for plugin in ("@jupyterlab/apputils-extension:announcements", "@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                   "@jupyter/nbgrader:course-list"):
        assert plugin in disabled
    assert "@jupyter/nbgrader:assignment-list" not in disabled  # trainees fetch and submit
    assert config["news"] == {"disabled": True}
    assert config["extensionManager"]["name"] == "read-only"


def test_exchange_is_shared_and_sticky(hub):
    mode = stat.S_IMODE(hub.exchange.stat().st_mode)
    assert mode == 0o1777, oct(mode)


def test_assignment_goes_through_the_exchange(hub):
    """Instructor releases with the formgrader; a trainee fetches and submits from their own
    server; the instructor collects: nbgrader's exchange on the hub's shared directory."""
    ina, tom = hub.login("ina"), hub.login("tom")
    fg = f"{hub.url}/services/upstream/formgrader"
    get_when_up(ina, fg)
    headers = xsrf(ina, "/services/upstream/")
    for action in ("assign", "release"):
        reply = ina.post(f"{fg}/api/assignment/{EXERCISE}/{action}", headers=headers, timeout=120)
        assert reply.ok and reply.json()["success"], reply.text

    server = f"{hub.url}/user/tom"
    tom.get(f"{server}/lab", timeout=60).raise_for_status()
    listed = tom.get(f"{server}/assignments", params={"course_id": "upstream"}, timeout=60).json()
    assert [(a["assignment_id"], a["status"]) for a in listed["value"]] == [(EXERCISE, "released")]
    form = {"course_id": "upstream", "assignment_id": EXERCISE}
    for action in ("fetch", "submit"):
        reply = tom.post(f"{server}/assignments/{action}", data=form, headers=xsrf(tom, "/user/tom/"),
                         timeout=120)
        assert reply.ok and reply.json()["success"], reply.text
    assert (hub.homes / "tom" / EXERCISE / f"{EXERCISE}.ipynb").is_file()
    # nbgrader files a submission under the Unix account that made it: on a real server that is
    # tom's; this throwaway hub runs every server under the test's own account
    account = pwd.getpwuid(os.geteuid()).pw_name
    inbound = hub.exchange / "upstream" / "inbound"
    assert [p.name.split("+")[:2] for p in inbound.iterdir()] == [[account, EXERCISE]]
    assert stat.S_IMODE(inbound.stat().st_mode) == 0o2733  # trainees cannot list others' work

    reply = ina.post(f"{fg}/api/assignment/{EXERCISE}/collect", headers=headers, timeout=120)
    assert reply.ok and reply.json()["success"], reply.text
    submitted = hub.grader_home / "upstream" / "submitted" / account / EXERCISE
    assert (submitted / f"{EXERCISE}.ipynb").is_file()


def test_a_wrong_roster_stops_the_hub_with_what_to_fix(tmp_path):
    (tmp_path / "roster.yml").write_text('course_id: "up stream"\ninstructors: [ina]\n')
    env = {**os.environ, "UPSTREAM_ROSTER": str(tmp_path / "roster.yml"),
           "UPSTREAM_DATA_DIR": str(tmp_path / "hub"), "UPSTREAM_EXCHANGE": str(tmp_path / "ex"),
           "UPSTREAM_BIND_URL": "http://127.0.0.1:9"}  # never reached: the config fails first
    done = subprocess.run([str(Path(sys.executable).parent / "jupyterhub"), "-f",
                           str(DEPLOY / "jupyterhub_config.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "course_id 'up stream' must be letters, digits" in done.stderr + done.stdout
    assert not (tmp_path / "hub").exists()  # nothing was set up from a bad roster
