"""Publish the trainee distribution as a git branch that nbgitpuller pulls.

    python -m tools.trainee_branch [--repo PATH] [--branch trainee] [--remote origin]
                                   [--allow-dirty]

builds the trainee's material (course.workspace: the modules as notebooks and the student
versions of the exercises, no sources, no solutions) and commits it as one new commit on the
branch (default ``trainee``) of the repository (default: this checkout), on top of the branch's
previous commit (the local branch's or, in a fresh clone, ``origin/trainee``'s), so the push is
a fast-forward and nbgitpuller can merge each update into trainees' homes. Nothing else in the
repository changes: no checkout, no working tree, no index of yours is touched. It is built from
the working tree, so it refuses while course/ has uncommitted changes (``--allow-dirty`` to
build anyway; the commit message says which).

An organisation publishes it with: ``make trainee-branch && git push origin trainee``; the link
from ``python -m course link`` names that branch by default.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from course import workspace

ROOT = Path(__file__).resolve().parent.parent


def _git(repo: Path, *args: str, env: dict | None = None) -> str:
    done = subprocess.run(["git", f"--git-dir={repo}", *args], capture_output=True, text=True,
                          env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def git_dir(repo: Path) -> Path:
    """The git directory of a checkout or a bare repository."""
    found = subprocess.run(["git", "-C", str(repo), "rev-parse", "--absolute-git-dir"],
                           capture_output=True, text=True, check=False)
    if found.returncode != 0:
        raise RuntimeError(f"{repo} is not a git repository")
    return Path(found.stdout.strip())


class PublishError(RuntimeError):
    """The branch cannot be published as asked; the message says what to do."""


def _ref(gitdir: Path, ref: str) -> str | None:
    found = subprocess.run(["git", f"--git-dir={gitdir}", "rev-parse", "--verify", "--quiet",
                            f"{ref}^{{commit}}"], capture_output=True, text=True, check=False)
    return found.stdout.strip() if found.returncode == 0 else None


def _is_ancestor(gitdir: Path, older: str, newer: str) -> bool:
    return subprocess.run(["git", f"--git-dir={gitdir}", "merge-base", "--is-ancestor", older,
                           newer], capture_output=True, check=False).returncode == 0


def parent_commit(gitdir: Path, branch: str, remote: str = "origin") -> str | None:
    """The commit the new distribution goes on top of: the branch's tip, locally or, in a fresh
    clone that has only ``<remote>/<branch>``, the remote's; None for the branch's first commit.

    Building on the published tip keeps one history, so ``git push`` is a fast-forward and
    nbgitpuller merges the update into every trainee's home (an unrelated commit would make it
    refuse to merge unrelated histories)."""
    local = _ref(gitdir, f"refs/heads/{branch}")
    published = _ref(gitdir, f"refs/remotes/{remote}/{branch}")
    if local is None or published is None or local == published:
        return local or published
    if _is_ancestor(gitdir, published, local):
        return local  # ahead of the remote: a distribution not pushed yet
    if _is_ancestor(gitdir, local, published):
        return published  # behind: the remote has a newer distribution
    raise PublishError(
        f"the local branch {branch} and {remote}/{branch} have diverged. Publish on top of the "
        f"remote's: `git branch -f {branch} {remote}/{branch}` (after `git fetch {remote}`), "
        "then run this again.")


def course_changes(checkout: Path) -> str:
    """What ``git status`` shows for course/ of the checkout the distribution is built from."""
    done = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--", "course"],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def publish(repo: Path = ROOT, branch: str = "trainee", message: str | None = None,
            remote: str = "origin", checkout: Path | None = None) -> str:
    """Commit the trainee distribution on ``branch``; returns the new commit's id.

    The distribution is built from this checkout's working tree (``checkout``, default this
    one, names the commit it was built from in the message)."""
    checkout = ROOT if checkout is None else checkout
    gitdir = git_dir(repo)
    parent = parent_commit(gitdir, branch, remote)
    local = _ref(gitdir, f"refs/heads/{branch}")
    with tempfile.TemporaryDirectory() as tmp:
        tree_dir = Path(tmp) / "tree"
        workspace.build_distribution(tree_dir)
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index"),
               "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", "Upstream release"),
               "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", "upstream@localhost"),
               "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", "Upstream release"),
               "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL", "upstream@localhost")}
        _git(gitdir, f"--work-tree={tree_dir}", "add", "--all", "--force", ".", env=env)
        tree = _git(gitdir, "write-tree", env=env)
        if parent and _git(gitdir, "rev-parse", f"{parent}^{{tree}}") == tree:
            commit = parent  # nothing changed for trainees: no new commit
        else:
            source = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip() or "unknown"
            state = "with uncommitted changes" if course_changes(checkout) else "working tree clean"
            text = message or f"Trainee distribution built from {source} ({state})"
            commit = _git(gitdir, "commit-tree", tree, *(["-p", parent] if parent else []),
                          "-m", text, env=env)
        if commit != local:  # only ever forward from the local branch (or create it)
            _git(gitdir, "update-ref", f"refs/heads/{branch}", commit, local or "")
        return commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.trainee_branch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=ROOT, help="repository (default: this one)")
    parser.add_argument("--branch", default="trainee", help="branch to commit (default: trainee)")
    parser.add_argument("--remote", default="origin",
                        help="remote whose copy of the branch a fresh clone builds on "
                        "(default: origin)")
    parser.add_argument("--allow-dirty", action="store_true",
                        help="build even if course/ has uncommitted changes")
    args = parser.parse_args(argv)
    changes = course_changes(ROOT)
    if changes and not args.allow_dirty:
        print("error: commit or stash your changes to course/ first; the branch is built from "
              f"the working tree (or pass --allow-dirty):\n{changes}", file=sys.stderr)
        return 2
    try:
        commit = publish(args.repo, args.branch, remote=args.remote, checkout=ROOT)
    except PublishError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.branch} is at {commit[:12]}; publish it with: "
          f"git push {args.remote} {args.branch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
