"""What jupyterhub_config.py builds, as plain functions (unit-tested in tests/test_hub_config.py).

One course on one machine: a roster names the course, its instructors and its trainees;
from it come JupyterHub's groups and roles, the formgrader service instructors use, the settings
every single-user server starts with, and the nbgrader exchange directory.

The groups follow nbgrader's convention for JupyterHub ("Using nbgrader with JupyterHub"):
``formgrade-<course>`` may use the course's formgrader service, ``nbgrader-<course>`` takes the
course. The formgrader runs once per course as a hub-managed service (a shared
``jupyterhub-singleuser`` with the course directory), so trainees' own servers never need it.
"""

from __future__ import annotations

import os
import pwd
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
# The environment servers run from. On a real hub, UPSTREAM_RUNTIME names the one `make runtime`
# builds: the course installed as a package, with no checkout (no exercise sources, no tools,
# no .git) for a trainee's kernel to read, and its own copy of deploy/jupyter. Unset (tests, a
# trial run), servers run from the hub's own environment and this checkout's settings.
RUNTIME = Path(os.environ["UPSTREAM_RUNTIME"]) if os.environ.get("UPSTREAM_RUNTIME") else None
JUPYTER_SETTINGS = RUNTIME / "etc" / "upstream-jupyter" if RUNTIME else HERE / "jupyter"
# Jupyter config directories handed to servers through JUPYTER_CONFIG_PATH (highest priority).
COMMON_CONFIG = JUPYTER_SETTINGS / "common"  # every server: offline, and which course
TRAINEE_CONFIG = JUPYTER_SETTINGS / "trainee"   # trainees' servers: no formgrader, no authoring
CHP = HERE / "node_modules" / ".bin" / "configurable-http-proxy"

# nbgrader course ids and JupyterHub user names we accept (nbgrader puts ids in paths and
# group names; keep them to characters that are safe in both).
COURSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
USER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
EXCHANGE_MODE = 0o1777  # everyone may create entries; only an entry's owner may remove it


class RosterError(ValueError):
    """The roster file is wrong; the message says where and what to write instead."""


@dataclass(frozen=True)
class Roster:
    course_id: str
    instructors: tuple[str, ...]
    trainees: tuple[str, ...]

    @property
    def users(self) -> list[str]:
        return sorted(set(self.instructors) | set(self.trainees))


def _names(raw: dict, key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise RosterError(f"{where}: '{key}' must be a list of user names, e.g. [alice, bob]")
    bad = [str(v) for v in value if not isinstance(v, str) or not USER_NAME.match(v)]
    if bad:
        raise RosterError(
            f"{where}: '{key}' has invalid user names {bad}: use lower-case letters, digits, "
            "'.', '_' or '-' (the names people log in with)"
        )
    return tuple(dict.fromkeys(value))


def parse_roster(raw: object, where: str = "roster") -> Roster:
    """A Roster from the parsed YAML mapping, checked."""
    if not isinstance(raw, dict):
        raise RosterError(f"{where}: expected a mapping with course_id, instructors, trainees")
    unknown = sorted(set(raw) - {"course_id", "instructors", "trainees"})
    if unknown:
        raise RosterError(f"{where}: unknown keys {unknown} (allowed: course_id, instructors, trainees)")
    course_id = raw.get("course_id")
    if not isinstance(course_id, str) or not COURSE_ID.match(course_id):
        raise RosterError(
            f"{where}: course_id {course_id!r} must be letters, digits, '_' or '-' "
            "(it names the nbgrader course and the formgrader service), e.g. upstream-2026"
        )
    instructors = _names(raw, "instructors", where)
    if not instructors:
        raise RosterError(f"{where}: list at least one instructor under 'instructors'")
    return Roster(course_id, instructors, _names(raw, "trainees", where))


def load_roster(path: str | os.PathLike) -> Roster:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise RosterError(
            f"cannot read the roster {path} ({err.strerror}): copy deploy/roster.example.yml "
            "there, or point UPSTREAM_ROSTER at your roster"
        ) from err
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise RosterError(f"{path} is not valid YAML: {err}") from err
    return parse_roster(raw, str(path))


def groups(roster: Roster) -> dict[str, dict]:
    """JupyterHub groups (c.JupyterHub.load_groups), named as nbgrader expects."""
    course = roster.course_id
    return {
        "instructors": {"users": list(roster.instructors)},
        f"formgrade-{course}": {"users": list(roster.instructors)},
        f"nbgrader-{course}": {"users": roster.users},
    }


def roles(roster: Roster) -> list[dict]:
    """JupyterHub roles (c.JupyterHub.load_roles).

    Only the formgrade group may reach the course's formgrader service. Nobody but admins may
    reach another person's server: JupyterHub's default 'user' role only covers one's own.
    """
    course = roster.course_id
    return [
        {
            "name": f"formgrade-{course}",
            "description": f"use the formgrader of {course}",
            "groups": [f"formgrade-{course}"],
            "scopes": [f"access:services!service={course}"],
        },
        {
            "name": f"nbgrader-{course}",
            "description": f"see that the {course} course exists (nbgrader's course list)",
            "groups": [f"nbgrader-{course}"],
            "scopes": ["list:services", f"read:services!service={course}"],
        },
    ]


def server_environment(roster: Roster, exchange: Path, *config_dirs: Path) -> dict[str, str]:
    """Environment for a Jupyter server: its config directories and the course's identity.

    deploy/jupyter/common/nbgrader_config.py reads UPSTREAM_COURSE_ID and UPSTREAM_EXCHANGE.
    The environment's bin directory leads PATH: nbgrader runs its `alembic` command from there
    when it opens the gradebook, and the hub may have been started without it on PATH.
    """
    return {
        "PATH": os.pathsep.join([str(server_bin()), os.environ.get("PATH", "")]),
        "JUPYTER_CONFIG_PATH": os.pathsep.join(str(d) for d in config_dirs),
        "UPSTREAM_COURSE_ID": roster.course_id,
        "UPSTREAM_EXCHANGE": str(exchange),
    }


def server_bin() -> Path:
    """The bin folder servers run from: the runtime environment, else the hub's own."""
    return RUNTIME / "bin" if RUNTIME else Path(sys.executable).parent


def singleuser_command() -> list[str]:
    """jupyterhub-singleuser from the servers' environment (never a hard-coded path), through
    ``course.serve``, which skips a CPU-second of start-up work every trainee would pay."""
    return [str(server_bin() / "python"), "-m", "course.serve"]


def zygote_enabled(environ: dict[str, str] | None = None) -> bool:
    """Are servers forked from the hub's zygote (deploy/zygote_spawner.py)? Yes unless
    UPSTREAM_ZYGOTE is 0 (or false, no, off)."""
    value = (os.environ if environ is None else environ).get("UPSTREAM_ZYGOTE", "1")
    return value.strip().lower() not in ("0", "false", "no", "off")


def grading_service(roster: Roster, *, home: Path, port: int, exchange: Path,
                    user: str = "") -> dict:
    """The course's formgrader: a shared jupyterhub-singleuser run by the hub as a service.

    `home` holds the course directory (`home/<course_id>`, nbgrader's CourseDirectory.root);
    `user` is the system account it runs as ('' = the hub's own user, for tests only).
    """
    env = server_environment(roster, exchange, COMMON_CONFIG)
    env["UPSTREAM_COURSE_ROOT"] = str(home / roster.course_id)
    env["JUPYTERHUB_DEFAULT_URL"] = "/lab"
    cmd = singleuser_command()
    if not user and os.geteuid() == 0:
        cmd.append("--allow-root")
    service = {
        "name": roster.course_id,
        "display": True,
        "info": {"purpose": f"nbgrader formgrader for {roster.course_id}"},
        "url": f"http://127.0.0.1:{port}",
        "command": cmd,
        "cwd": str(home),
        "environment": env,
        "oauth_no_confirm": True,
    }
    if user:
        service["user"] = user
    else:
        env["HOME"] = str(home)
    return service


class ExchangeError(RuntimeError):
    """The exchange directory is not as the hub must have it; the message says what to do."""


# The modes nbgrader's `release_assignment` gives a course's folders in the exchange:
# the course and outbound/ 755 (everyone reads the released assignments), inbound/ 2733 (everyone
# may add a submission, nobody but the owner may list them; the group of the owner is kept).
COURSE_FOLDERS = (("", 0o755), ("outbound", 0o755), ("inbound", 0o2733))


def _account(owner: str) -> tuple[int, int, str]:
    if not owner:
        return os.geteuid(), os.getegid(), "the hub's own account"
    try:
        entry = pwd.getpwnam(owner)
    except KeyError:
        raise ExchangeError(
            f"there is no account {owner!r} to own the course's exchange folders: create the "
            "grader account first (deploy/README.md), or set UPSTREAM_GRADER_USER"
        ) from None
    return entry.pw_uid, entry.pw_gid, owner


def _owner_name(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _ensure_course_folder(path: Path, mode: int, uid: int, gid: int, owner: str) -> None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        path.mkdir()
        if (os.geteuid(), os.getegid()) != (uid, gid):
            os.chown(path, uid, gid)
        path.chmod(mode)  # after chown, which clears the set-group-id bit
        return
    if not stat.S_ISDIR(st.st_mode):
        what = "a link" if stat.S_ISLNK(st.st_mode) else "not a folder"
        raise ExchangeError(
            f"{path} is {what}, made by {_owner_name(st.st_uid)}: someone put it there before "
            "the hub could create the course's exchange folder. Look at it (ls -la), remove it "
            f"(sudo rm {path}) and start the hub again; the hub then creates the folder itself"
        )
    if st.st_uid != uid:
        raise ExchangeError(
            f"{path} belongs to {_owner_name(st.st_uid)}, not to {owner}, who releases and "
            "collects the course: whoever owns it can block releases (nbgrader: \"You don't own "
            "the directory\") and remove submissions. A trainee who created it before the first "
            "release does exactly that. Look at what is in it, then either remove it "
            f"(sudo rm -r {path}) or give it to the grader (sudo chown -R {uid}:{gid} {path}), "
            "and start the hub again"
        )
    if stat.S_IMODE(st.st_mode) != mode:
        path.chmod(mode)


def ensure_exchange(path: Path, course_id: str = "", owner: str = "") -> Path:
    """Create the shared nbgrader exchange directory with the mode nbgrader needs, and the
    course's own folders in it, owned by ``owner`` (the grader account; '' = the hub's own).

    Every trainee writes submissions into it under their own account; the sticky bit (as on
    /tmp) keeps anyone from removing what another account put there. The course's folders are
    made here, at set-up, so no trainee can make them first (nbgrader would then refuse to
    release: the instructor must own them); one owned by anyone else stops the hub with what
    to do (ExchangeError).
    """
    path.mkdir(parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != EXCHANGE_MODE:
        path.chmod(EXCHANGE_MODE)
    if course_id:
        uid, gid, who = _account(owner)
        for name, mode in COURSE_FOLDERS:
            folder = path / course_id / name if name else path / course_id
            _ensure_course_folder(folder, mode, uid, gid, who)
    return path


# --- a class on one machine: culling idle servers and kernels --------------------------------
IDLE_CULLER = "idle-culler"


def idle_culler_service(timeout_seconds: int, every_seconds: int = 300) -> dict:
    """jupyterhub-idle-culler as a hub service: stops servers idle for ``timeout_seconds``.

    Stopping frees the server's memory and CPU; the trainee's files stay in their home, and the
    course link (or the hub's Start button) starts the server again.
    """
    return {
        "name": IDLE_CULLER,
        "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                    f"--timeout={int(timeout_seconds)}", f"--cull-every={int(every_seconds)}"],
    }


def idle_culler_role() -> dict:
    """The least the culler needs (as jupyterhub-idle-culler's README lists it)."""
    return {
        "name": IDLE_CULLER,
        "description": "stop servers that have been idle for too long",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": [IDLE_CULLER],
    }


def kernel_culling_environment(idle_seconds: int) -> dict[str, str]:
    """What makes a server shut down its idle kernels (deploy/jupyter/common reads it)."""
    return {"UPSTREAM_KERNEL_IDLE_SECONDS": str(int(idle_seconds))}
