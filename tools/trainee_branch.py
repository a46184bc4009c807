"""Publish the trainee distribution as a git branch that nbgitpuller pulls.

    python -m tools.trainee_branch [--repo PATH] [--branch trainee]

builds the trainee's material (course.workspace: the modules as notebooks and the student
versions of the exercises, no sources, no solutions) and commits it as one new commit on the
branch (default ``trainee``) of the repository (default: this checkout), on top of the branch's
previous commit, so nbgitpuller can merge each update into trainees' homes. Nothing else in the
repository changes: no checkout, no working tree, no index of yours is touched.

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


def publish(repo: Path = ROOT, branch: str = "trainee", message: str | None = None) -> str:
    """Commit the trainee distribution on ``branch``; returns the new commit's id."""
    gitdir = git_dir(repo)
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
        parent = subprocess.run(["git", f"--git-dir={gitdir}", "rev-parse", "--verify", "--quiet",
                                 f"refs/heads/{branch}"], capture_output=True, text=True)
        parents = ["-p", parent.stdout.strip()] if parent.returncode == 0 else []
        if parents and _git(gitdir, "rev-parse", f"{parents[1]}^{{tree}}") == tree:
            return parents[1]  # nothing changed for trainees: no new commit
        source = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip() or "unknown"
        text = message or f"Trainee distribution built from {source}"
        commit = _git(gitdir, "commit-tree", tree, *parents, "-m", text, env=env)
        _git(gitdir, "update-ref", f"refs/heads/{branch}", commit)
        return commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.trainee_branch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=ROOT, help="repository (default: this one)")
    parser.add_argument("--branch", default="trainee", help="branch to commit (default: trainee)")
    args = parser.parse_args(argv)
    commit = publish(args.repo, args.branch)
    print(f"{args.branch} is at {commit[:12]}; publish it with: git push origin {args.branch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
