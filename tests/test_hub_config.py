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


# --- servers forked from the hub's zygote (deploy/zygote_spawner.py) ---------------------------
def load_hub_config(tmp_path, monkeypatch, **env):
    from traitlets.config.loader import PyFileConfigLoader

    for key, value in {"UPSTREAM_ROSTER": str(hub.HERE / "roster.example.yml"),
                       "UPSTREAM_DATA_DIR": str(tmp_path / "hub"),
                       "UPSTREAM_EXCHANGE": str(tmp_path / "exchange"),
                       "UPSTREAM_GRADER_USER": "", **env}.items():
        monkeypatch.setenv(key, value)
    return PyFileConfigLoader("jupyterhub_config.py", path=str(hub.HERE)).load_config()


def test_servers_are_forks_of_the_zygote_unless_turned_off(tmp_path, monkeypatch):
    monkeypatch.delenv("UPSTREAM_ZYGOTE", raising=False)
    config = load_hub_config(tmp_path, monkeypatch)
    assert config.JupyterHub.spawner_class.__name__ == "ZygoteLocalProcessSpawner"
    assert config.HubZygote.python == hub.singleuser_command()[0]
    for off in ("0", "false", "off"):
        assert "spawner_class" not in load_hub_config(tmp_path, monkeypatch,
                                                      UPSTREAM_ZYGOTE=off).JupyterHub
    assert hub.zygote_enabled({}) and hub.zygote_enabled({"UPSTREAM_ZYGOTE": "1"})
    assert not hub.zygote_enabled({"UPSTREAM_ZYGOTE": " No "})


def test_what_a_fork_cannot_honour_is_the_same_on_both_sides():
    from course import forking

    spawner = deploy_module("zygote_spawner")
    assert spawner.READ_AT_IMPORT == forking.READ_AT_IMPORT
    assert spawner.READ_AT_IMPORT_PREFIXES == forking.READ_AT_IMPORT_PREFIXES
    env = {"PATH": "/bin", "PYTHONPATH": "/x", "PYTHONHASHSEED": "0", "PYDEVD_USE_CYTHON": "NO",
           "JUPYTERHUB_SINGLEUSER_APP": "notebook", "JUPYTERHUB_USER": "tom"}
    expected = ["JUPYTERHUB_SINGLEUSER_APP", "PYDEVD_USE_CYTHON", "PYTHONHASHSEED"]
    assert spawner.startup_mismatch(env) == forking.startup_mismatch(env) == expected


def test_trainee_kernels_are_forked_only_in_a_forked_server(monkeypatch):
    import sysconfig
    from importlib.metadata import distributions

    from traitlets.config.loader import PyFileConfigLoader

    from course import kernel_zygote

    def provisioner():
        config = PyFileConfigLoader("jupyter_server_config.py",
                                    path=str(hub.TRAINEE_CONFIG)).load_config()
        return config.KernelProvisionerFactory.get("default_provisioner_name")

    monkeypatch.setattr(kernel_zygote, "CLIENT", None)
    assert provisioner() is None  # make lab, a server started the stock way
    monkeypatch.setattr(kernel_zygote, "CLIENT", object())
    assert provisioner() == "upstream-forked-kernel"
    # as the installed package declares it (not a stale *.egg-info a build left in the checkout)
    installed = next(distributions(name="upstream-course",
                                   path=[sysconfig.get_paths()["purelib"]]))
    found = {e.name: e.value for e in installed.entry_points
             if e.group == "jupyter_client.kernel_provisioners"}
    assert found == {"upstream-forked-kernel": "course.kernel_zygote:ForkedKernelProvisioner"}


def test_every_default_the_zygotes_imports_read_from_the_environment_is_handled():
    """A class or module body of a preloaded package that reads os.environ fixes its value when
    the zygote imports it, not when a trainee's server or kernel starts. Each one must be set
    again in every fork (TRAIT_DEFAULTS, MODULE_DEFAULTS), make the spawner start that server
    the stock way (READ_AT_IMPORT), or be listed here as not mattering to a course server."""
    import ast
    import importlib.util

    from course import forking

    not_relevant = {  # (package, name): why
        ("jupyter_server", "KERNEL_LAUNCH_TIMEOUT"): "gateway kernels only",
        ("jupyter_server", "GATEWAY_WS_PING_INTERVAL_SECS"): "gateway kernels only",
        ("IPython", "GENERATING_DOCUMENTATION"): "IPython's documentation build",
        ("IPython", "_use_simple_prompt"): "terminal IPython only",
        ("IPython", "_env_type"): "a type, not a value",
        ("IPython", "IPYTHON_TESTING_TIMEOUT_SCALE"): "IPython's own tests",
        ("traitlets", "comp_point"): "shell completion of command lines",
        ("traitlets", "start"): "shell completion of command lines",
        ("jupyterhub", "metrics_prefix"): "the hub's metrics",
        ("jupyterhub", "_env_spawn_duration_buckets"): "the hub's metrics",
        ("jupyterhub", "_env_stop_duration_buckets"): "the hub's metrics",
        ("jupyterhub", "_anonymous_id_headers"): "the hub's own xsrf handling",
        ("pandas", "HAS_DISPLAY"): "the clipboard, on a desktop",
        ("jupyter_server", "max_retries"): "gateway kernels only",
        ("jupyterlab", "all_proxy_url"): "the PyPI extension manager (the course's is read-only)",
        ("jupyterlab", "http_proxy_url"): "the PyPI extension manager",
        ("jupyterlab", "https_proxy_url"): "the PyPI extension manager",
        ("jupyterhub", "api_url"): "a @default method computes it from the environment when used",
    }
    handled = {name for _, _, name, _ in forking.TRAIT_DEFAULTS + forking.MODULE_DEFAULTS}
    handled |= {"_extension_env", "_app_env", "JUPYTERHUB_SINGLEUSER_APP", "_envvar",
                "_FUTURE_MODE"}  # READ_AT_IMPORT: such a server is started the stock way
    packages = ["ipykernel", "IPython", "jupyter_client", "jupyter_server", "jupyterlab",
                "jupyterlab_server", "jupyter_core", "jupyterhub", "traitlets", "nbformat",
                "jupyter_events", "nbgitpuller", "comm", "ipywidgets", "folium", "branca",
                "pandas", "terminado", "jupyter_server_terminals", "notebook_shim", "course"]
    unhandled = []
    for package in packages:
        root = Path(importlib.util.find_spec(package).origin).parent
        for path in root.rglob("*.py"):
            if {"tests", "testing", "test"} & set(path.relative_to(root).parts):
                continue
            try:
                tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
            except SyntaxError:
                continue
            bodies = [tree.body] + [n.body for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
            for body in bodies:
                for stmt in body:
                    if not isinstance(stmt, (ast.Assign, ast.AnnAssign)) or stmt.value is None:
                        continue
                    if not any(isinstance(n, ast.Attribute) and n.attr in ("environ", "getenv")
                               or isinstance(n, ast.Name) and n.id in ("environ", "getenv")
                               for n in ast.walk(stmt.value)):
                        continue
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                    for target in targets:
                        name = target.id if isinstance(target, ast.Name) else ast.unparse(target)
                        if name not in handled and (package, name) not in not_relevant:
                            unhandled.append(f"{path}:{stmt.lineno} {name}")
    assert not unhandled, "read from the environment at import, not handled:\n" + \
        "\n".join(unhandled)
