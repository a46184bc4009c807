"""nbgitpuller links: one URL that puts the course into a trainee's home on a JupyterHub.

Opening the link logs the trainee in (if needed), starts their server, clones (or updates) the
course repository's ``trainee`` branch into their home with nbgitpuller, and opens a notebook in
JupyterLab — by default the orientation module. The ``trainee`` branch holds only the trainee's
material (``make trainee-branch`` builds it from main; see course.workspace): never the exercise
sources with their solutions and hidden tests, which stay on main. nbgitpuller merges updates without overwriting a trainee's edits,
so the same link can be shared again after the course changes.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlencode, urlsplit

ORIENTATION = "modules/00-orientation.ipynb"
# The branch `make trainee-branch` builds: the trainee's material only, no exercise sources.
DEFAULT_BRANCH = "trainee"
REPO_ROOT = Path(__file__).resolve().parent.parent

REPO_SCHEMES = ("https", "http", "file")
# Characters git forbids in branch names (see `git help check-ref-format`).
BAD_BRANCH = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


class LinkError(ValueError):
    """An argument for the link is wrong; the message says what to give instead."""


def hub_url(url: str) -> str:
    """The hub's base address, checked, without a trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise LinkError(
            f"--hub {url!r} is not a web address: give the address trainees open, "
            "e.g. https://hub.example.org (or https://example.org/jupyter if the hub has a prefix)"
        )
    if parts.username or parts.password:
        raise LinkError(f"--hub {url!r} contains a user name or password: remove it from the link")
    if parts.query or parts.fragment:
        raise LinkError(f"--hub {url!r} has a '?…' or '#…' part: give only the hub's address")
    path = parts.path.rstrip("/")
    segments = path.split("/")
    if "hub" in segments or "user" in segments:
        base = "/".join(segments[: segments.index("hub" if "hub" in segments else "user")])
        raise LinkError(
            f"--hub {url!r} points inside the hub: give its base address, "
            f"e.g. {parts.scheme}://{parts.netloc}{base}"
        )
    return f"{parts.scheme}://{parts.netloc}{path}"


def repo_url(url: str) -> str:
    """The course repository's address, checked (https, http or file://)."""
    url = url.strip()
    if re.match(r"^[\w.-]+@[\w.-]+:", url):
        raise LinkError(
            f"--repo {url!r} is an SSH address; trainees' servers have no SSH keys. "
            "Give the repository's https:// address"
        )
    if url.startswith("/"):
        raise LinkError(f"--repo {url!r} is a local path: write it as a URL, file://{url}")
    parts = urlsplit(url)
    if parts.scheme not in REPO_SCHEMES:
        raise LinkError(
            f"--repo {url!r} is not an https://, http:// or file:// address of a git repository"
        )
    if parts.scheme != "file" and not parts.hostname:
        raise LinkError(f"--repo {url!r} has no host name")
    if parts.query or parts.fragment:
        raise LinkError(f"--repo {url!r} has a '?…' or '#…' part: give the repository's address")
    if not target_dir(url):
        raise LinkError(f"--repo {url!r} does not name a repository (its path is empty)")
    return url


def branch_name(name: str) -> str:
    """A branch name git would accept, or LinkError."""
    if not name or name.startswith(("-", "/")) or name.endswith(("/", ".", ".lock")):
        raise LinkError(f"--branch {name!r} is not a valid git branch name")
    if BAD_BRANCH.search(name):
        raise LinkError(f"--branch {name!r} contains characters git does not allow in a branch")
    return name


def notebook_path(path: str) -> str:
    """A notebook path inside the repository (POSIX, relative, no '..')."""
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or p.suffix != ".ipynb":
        raise LinkError(
            f"--open {path!r} must be a notebook path inside the repository, e.g. {ORIENTATION}"
        )
    return str(p)


def target_dir(repo: str) -> str:
    """The folder nbgitpuller clones into: the repository's name without '.git'."""
    name = urlsplit(repo).path.rstrip("/").rsplit("/", 1)[-1]
    return name[: -len(".git")] if name.endswith(".git") else name


def default_repo(root: Path = REPO_ROOT) -> str:
    """The 'origin' remote of the checkout this package was installed from."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "remote", "get-url", "origin"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    if not out:
        raise LinkError(
            f"no --repo given, and {root} has no git remote 'origin' to take it from: "
            "pass --repo https://…/upstream.git (the public address of the course repository)"
        )
    return repo_url(out)


def nbgitpuller_link(hub: str, repo: str, branch: str = DEFAULT_BRANCH,
                     notebook: str = ORIENTATION) -> str:
    """The link that clones `repo` at `branch` into each trainee's home and opens `notebook`."""
    hub, repo = hub_url(hub), repo_url(repo)
    target = target_dir(repo)
    query = {
        "repo": repo,
        "branch": branch_name(branch),
        "targetPath": target,
        "urlpath": f"lab/tree/{target}/{notebook_path(notebook)}",
    }
    # quote (not quote_plus) with no safe characters: every '/', ':' and space is %-encoded.
    return f"{hub}/hub/user-redirect/git-pull?{urlencode(query, quote_via=quote, safe='')}"
