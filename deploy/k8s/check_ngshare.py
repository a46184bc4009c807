"""Check the cluster's nbgrader exchange (ngshare) against the course's locked environment, on
one machine: ``.venv/bin/python deploy/k8s/check_ngshare.py``.

Not part of the test suite: it downloads from PyPI what the lock does not hold. In a temporary
directory it makes (1) the ngshare server in its own environment, as its own pod would run it
(ngshare 0.6.0 needs SQLAlchemy 1.x and an older JupyterHub), and (2) the exchange client exactly
as deploy/k8s/Dockerfile installs it (ngshare-exchange --no-deps). Then, on a local hub
(deploy/localhub.py) with ngshare as a hub service, an instructor creates the course and releases
an exercise, a trainee fetches and submits it, the instructor collects it, each with their own
JupyterHub token, through nbgrader's own commands. Exits 1 at the first step that fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy"))
from localhub import LocalHub, free_port  # noqa: E402

BIN = Path(sys.executable).parent
EXERCISE = "ex01_warning_signs"
SERVER_PACKAGES = ["ngshare==0.6.0", "sqlalchemy<2", "jupyterhub>=4,<5"]
CLIENT_PACKAGES = ["ngshare-exchange==0.5.3", "rapidfuzz==3.14.6"]  # as in the Dockerfile


class NgshareHub(LocalHub):
    """The local hub plus ngshare as a managed service that instructor and trainee may use."""

    def __init__(self, workdir: Path, server_python: Path):
        super().__init__(workdir / "hub", instructors=["ina"], trainees=["tom"])
        self.ngshare_port = free_port()
        self.server_python = server_python
        self.ngshare_dir = workdir / "ngshare"

    def _write_config(self) -> Path:
        config = super()._write_config()
        self.ngshare_dir.mkdir(exist_ok=True)
        service = {
            "name": "ngshare", "url": f"http://127.0.0.1:{self.ngshare_port}",
            "command": [str(self.server_python), "-m", "ngshare", "--admins", "ina",
                        "--database", f"sqlite:///{self.ngshare_dir}/ngshare.db",
                        "--storage", f"{self.ngshare_dir}/files/"],
            "environment": {"PATH": f"{self.server_python.parent}:/usr/bin:/bin"},
        }
        role = {"name": "ngshare-users", "users": ["ina", "tom"],
                "scopes": ["access:services!service=ngshare"]}
        config.write_text(config.read_text() + f"c.JupyterHub.services.append({service!r})\n"
                          f"c.JupyterHub.load_roles.append({role!r})\n")
        return config


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    print(f"$ {' '.join(str(a) for a in args[-4:])} -> {done.returncode}")
    if done.returncode:
        sys.exit(f"failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done


def install(work: Path) -> tuple[Path, Path]:
    server = work / "server-env"
    run([str(BIN / "uv"), "venv", "-q", "--python", sys.executable, str(server)])
    run([str(BIN / "uv"), "pip", "install", "-q", "--python", str(server / "bin" / "python"),
         *SERVER_PACKAGES])
    client = work / "client"
    run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(client),
         *CLIENT_PACKAGES])
    return server / "bin" / "python", client


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="check-ngshare-"))
    server_python, client = install(work)
    hub = NgshareHub(work, server_python)
    config_dir = work / "config"
    config_dir.mkdir()
    shutil.copy(ROOT / "deploy" / "jupyter" / "ngshare" / "nbgrader_config.py", config_dir)
    (config_dir / "nbgrader_config.json").write_text(
        '{"CourseDirectory": {"course_id": "upstream"}}')
    course = work / "ina" / "upstream"
    shutil.copytree(ROOT / "course" / "exercises" / "source" / EXERCISE,
                    course / "source" / EXERCISE)
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n")
    home = work / "tom"
    home.mkdir()
    with hub:
        def as_user(user: str, args: list[str], cwd: Path) -> None:
            token = hub.api("POST", f"/users/{user}/tokens", json={"note": "check"}).json()["token"]
            env = {**os.environ, "PYTHONPATH": str(client), "JUPYTERHUB_API_TOKEN": token,
                   "JUPYTERHUB_USER": user, "USER": user, "HOME": str(cwd),
                   "JUPYTER_CONFIG_PATH": str(config_dir), "PATH": f"{BIN}:{os.environ['PATH']}",
                   "UPSTREAM_NGSHARE_URL": f"http://127.0.0.1:{hub.ngshare_port}/services/ngshare"}
            run(args, cwd=cwd, env=env)

        manage = [sys.executable, str(client / "bin" / "ngshare-course-management")]
        nbgrader = str(BIN / "nbgrader")
        as_user("ina", [*manage, "create_course", "upstream", "ina"], course)
        as_user("ina", [*manage, "add_student", "upstream", "tom"], course)
        as_user("ina", [nbgrader, "generate_assignment", EXERCISE], course)
        as_user("ina", [nbgrader, "release_assignment", EXERCISE], course)
        as_user("tom", [nbgrader, "fetch_assignment", EXERCISE, "--course", "upstream"], home)
        if not (home / EXERCISE / f"{EXERCISE}.ipynb").is_file():
            sys.exit("the trainee's fetch brought nothing")
        as_user("tom", [nbgrader, "submit", EXERCISE, "--course", "upstream"], home)
        as_user("ina", [nbgrader, "collect", EXERCISE], course)
    collected = course / "submitted" / "tom" / EXERCISE / f"{EXERCISE}.ipynb"
    if not collected.is_file():
        sys.exit("the instructor's collect brought nothing")
    print(f"ngshare exchange works: released, fetched, submitted, collected ({collected})")
    print(f"processes left after the hub stopped: {hub.leftovers or 'none'}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
