"""JupyterHub for one organisation's own machine: the Upstream course for trainees, nbgrader's
formgrader for instructors. Step-by-step set-up: deploy/README.md.

Run from the course checkout (so this file finds deploy/jupyter/ and the pinned proxy):

    sudo /opt/upstream/.venv/bin/jupyterhub -f /opt/upstream/deploy/jupyterhub_config.py

Settings come from the environment (defaults in brackets):
    UPSTREAM_ROSTER       the course, its instructors and trainees   [/etc/upstream/roster.yml]
    UPSTREAM_DATA_DIR     hub database and cookie secret             [/srv/upstream/hub]
    UPSTREAM_EXCHANGE     nbgrader's shared exchange directory       [/srv/nbgrader/exchange]
    UPSTREAM_GRADER_HOME  home of the course's grader account        [/home/grader-<course_id>]
    UPSTREAM_GRADER_USER  system account the formgrader runs as      [grader-<course_id>]
    UPSTREAM_BIND_URL     where the hub listens (put TLS in front)   [http://127.0.0.1:8000]
    UPSTREAM_SERVICE_PORT local port of the formgrader service       [9999]
    UPSTREAM_RUNTIME      environment servers run from (make runtime) [the hub's own: trials only]
    UPSTREAM_ZYGOTE       0: every server a new interpreter, not a fork [1: forks of the zygote]

Everything else is plain JupyterHub configuration: add to it below, or load this file from your
own config with load_subconfig().
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import upstream_hub as hub  # noqa: E402 (this directory is not a package)

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

roster = hub.load_roster(os.environ.get("UPSTREAM_ROSTER", "/etc/upstream/roster.yml"))
data_dir = Path(os.environ.get("UPSTREAM_DATA_DIR", "/srv/upstream/hub"))
grader_user = os.environ.get("UPSTREAM_GRADER_USER", f"grader-{roster.course_id}")
# The course's folders in the exchange are made now, owned by the grader (see ensure_exchange).
exchange = hub.ensure_exchange(Path(os.environ.get("UPSTREAM_EXCHANGE", "/srv/nbgrader/exchange")),
                               roster.course_id, grader_user)
grader_home = Path(os.environ.get("UPSTREAM_GRADER_HOME", f"/home/grader-{roster.course_id}"))

# --- the hub itself -------------------------------------------------------------------------
data_dir.mkdir(parents=True, exist_ok=True)
c.JupyterHub.bind_url = os.environ.get("UPSTREAM_BIND_URL", "http://127.0.0.1:8000")
c.JupyterHub.db_url = f"sqlite:///{data_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(data_dir / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(data_dir / "jupyterhub-proxy.pid")
if hub.CHP.exists():  # the version pinned in deploy/package-lock.json (npm ci --prefix deploy)
    c.ConfigurableHTTPProxy.command = [str(hub.CHP)]

# --- who may log in, and what they may reach ------------------------------------------------
# The default authenticator is PAM: people log in with their accounts on this machine.
c.Authenticator.allowed_users = set(roster.users)
c.Authenticator.admin_users = set()  # admins could open trainees' servers; add one only if needed
c.JupyterHub.load_groups = hub.groups(roster)
c.JupyterHub.load_roles = hub.roles(roster)

# --- trainees' (and instructors' own) servers -----------------------------------------------
c.Spawner.cmd = hub.singleuser_command()
# Every server a fork of one process that has already imported the servers' and kernels' code
# (deploy/zygote_spawner.py; deploy/README.md, "Sizing a class"): about half the memory per
# trainee. UPSTREAM_ZYGOTE=0 starts each server as a new interpreter (JupyterHub's stock spawner).
if hub.zygote_enabled():
    import zygote_spawner

    c.JupyterHub.spawner_class = zygote_spawner.ZygoteLocalProcessSpawner
    c.HubZygote.python = str(hub.server_bin() / "python")
    zygote_spawner.start_with_hub()
c.Spawner.default_url = "/lab"
c.Spawner.environment = hub.server_environment(
    roster, exchange, hub.TRAINEE_CONFIG, hub.COMMON_CONFIG
)

# --- the course's formgrader, for the formgrade-<course_id> group only ----------------------
c.JupyterHub.services = [
    hub.grading_service(
        roster,
        home=grader_home,
        port=int(os.environ.get("UPSTREAM_SERVICE_PORT", "9999")),
        exchange=exchange,
        user=grader_user,
    )
]

# --- a class on one machine: idle servers and kernels are stopped, each server is bounded ---
# An idle trainee's server is stopped after UPSTREAM_IDLE_MINUTES (their files stay in their
# home; the link starts it again), by the ecosystem's jupyterhub-idle-culler run as a hub
# service; inside a server, a kernel idle for UPSTREAM_KERNEL_IDLE_MINUTES is shut down.
idle_seconds = 60 * int(os.environ.get("UPSTREAM_IDLE_MINUTES", "60"))
c.JupyterHub.services.append(hub.idle_culler_service(idle_seconds))
c.JupyterHub.load_roles.append(hub.idle_culler_role())
c.Spawner.environment.update(hub.kernel_culling_environment(
    60 * int(os.environ.get("UPSTREAM_KERNEL_IDLE_MINUTES", "20"))))
# Per-trainee limits: enforced by spawners that can (SystemdSpawner, KubeSpawner; see
# deploy/README.md, "Sizing a class"); the default local-process spawner cannot enforce them.
c.Spawner.mem_limit = os.environ.get("UPSTREAM_MEM_LIMIT", "1G")
c.Spawner.cpu_limit = float(os.environ.get("UPSTREAM_CPU_LIMIT", "1"))
