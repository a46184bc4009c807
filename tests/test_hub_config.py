"""deploy/upstream_hub.py: the roster, and the groups, roles and servers built from it."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from tests.helpers.hub import deploy_module

hub = deploy_module("upstream_hub")

ROSTER = {"course_id": "upstream-2026", "instructors": ["ina"], "trainees": ["tom", "tia", "tom"]}


def test_roster_is_parsed_and_deduplicated():
    roster = hub.parse_roster(ROSTER)
    assert roster.course_id == "upstream-2026"
    assert roster.trainees == ("tom", "tia")
    assert roster.users == ["ina", "tia", "tom"]


@pytest.mark.parametrize(("raw", "message"), [
    (["ina"], "expected a mapping"),
    ({**ROSTER, "teachers": ["x"]}, r"unknown keys \['teachers'\]"),
    ({**ROSTER, "course_id": "up stream"}, "course_id 'up stream' must be"),
    ({**ROSTER, "course_id": None}, "course_id None must be"),
    ({**ROSTER, "instructors": []}, "at least one instructor"),
    ({**ROSTER, "instructors": "ina"}, "must be a list of user names"),
    ({**ROSTER, "trainees": ["Tom Smith"]}, r"invalid user names \['Tom Smith'\]"),
    ({**ROSTER, "trainees": [42]}, r"invalid user names \['42'\]"),
])
def test_bad_rosters_say_what_to_fix(raw, message):
    with pytest.raises(hub.RosterError, match=message):
        hub.parse_roster(raw, "roster.yml")


def test_roster_file_errors(tmp_path):
    with pytest.raises(hub.RosterError, match="cannot read the roster .*deploy/roster.example.yml"):
        hub.load_roster(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("course_id: [unclosed\n", encoding="utf-8")
    with pytest.raises(hub.RosterError, match="not valid YAML"):
        hub.load_roster(bad)


def test_example_roster_is_valid():
    roster = hub.load_roster(hub.HERE / "roster.example.yml")
    assert roster.instructors and roster.trainees


def test_groups_and_roles_follow_nbgrader_naming():
    roster = hub.parse_roster(ROSTER)
    groups = hub.groups(roster)
    assert groups["formgrade-upstream-2026"] == {"users": ["ina"]}
    assert groups["nbgrader-upstream-2026"] == {"users": ["ina", "tia", "tom"]}
    roles = {r["name"]: r for r in hub.roles(roster)}
    assert roles["formgrade-upstream-2026"]["scopes"] == ["access:services!service=upstream-2026"]
    assert roles["formgrade-upstream-2026"]["groups"] == ["formgrade-upstream-2026"]
    # no role lets anyone reach other people's servers
    assert not any("servers" in s for r in roles.values() for s in r["scopes"])


def test_servers_run_the_hubs_own_environment():
    python, *args = hub.singleuser_command()
    assert Path(python) == Path(sys.executable).parent / "python"
    assert args == ["-m", "course.serve"]  # jupyterhub-singleuser, with less start-up work
    env = hub.server_environment(hub.parse_roster(ROSTER), Path("/x"), hub.TRAINEE_CONFIG,
                                 hub.COMMON_CONFIG)
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(hub.TRAINEE_CONFIG),
                                                           str(hub.COMMON_CONFIG)]
    assert env["UPSTREAM_EXCHANGE"] == "/x"
    # nbgrader's gradebook runs `alembic` from PATH: the environment's bin comes first
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


def test_grading_service(tmp_path):
    roster = hub.parse_roster(ROSTER)
    service = hub.grading_service(roster, home=tmp_path, port=9999, exchange=Path("/ex"),
                                  user="grader-upstream")
    assert service["name"] == "upstream-2026" and service["user"] == "grader-upstream"
    assert service["url"] == "http://127.0.0.1:9999"
    assert service["environment"]["UPSTREAM_COURSE_ROOT"] == str(tmp_path / "upstream-2026")
    assert str(hub.TRAINEE_CONFIG) not in service["environment"]["JUPYTER_CONFIG_PATH"]
    assert "--allow-root" not in service["command"]  # it runs as its own account


def test_exchange_is_created_world_writable_and_sticky(tmp_path):
    path = hub.ensure_exchange(tmp_path / "srv" / "exchange")
    assert stat.S_IMODE(path.stat().st_mode) == 0o1777
    path.chmod(0o755)
    hub.ensure_exchange(path)  # repaired on the next start
    assert stat.S_IMODE(path.stat().st_mode) == 0o1777


def test_idle_servers_are_culled_by_the_ecosystems_culler():
    service = hub.idle_culler_service(3600)
    assert service["command"][:3] == [sys.executable, "-m", "jupyterhub_idle_culler"]
    assert "--timeout=3600" in service["command"]
    role = hub.idle_culler_role()
    assert role["services"] == [service["name"]]
    assert set(role["scopes"]) == {"list:users", "read:users:activity", "read:servers",
                                   "delete:servers"}
    import jupyterhub_idle_culler  # noqa: F401 - installed from the lock


def test_idle_kernels_are_culled_only_when_the_hub_asks(monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    def loaded():
        return PyFileConfigLoader("jupyter_server_config.py",
                                  path=str(hub.COMMON_CONFIG)).load_config()

    monkeypatch.delenv("UPSTREAM_KERNEL_IDLE_SECONDS", raising=False)
    assert "cull_idle_timeout" not in loaded().MappingKernelManager
    monkeypatch.setenv(*next(iter(hub.kernel_culling_environment(1200).items())))
    config = loaded().MappingKernelManager
    assert config.cull_idle_timeout == 1200 and config.cull_interval == 300
