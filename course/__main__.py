"""Command line: ``python -m course COMMAND`` (also installed as ``upstream``).

    python -m course workspace [FOLDER]
        Put the trainee's copy of the course into FOLDER (default: ./upstream-course), keeping
        every notebook the trainee has changed; print where it is and what changed.
    python -m course dist FOLDER
        Write the trainee distribution (modules and student versions of the exercises, no
        solutions) into an empty FOLDER; `make trainee-branch` commits it as the `trainee` branch.
    python -m course link --hub URL [--repo URL] [--branch NAME] [--open NOTEBOOK]
        Print the nbgitpuller link that puts the course into each trainee's home on a
        JupyterHub and opens the orientation module.
"""

from __future__ import annotations

import argparse
import sys

from course import link, workspace


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course", description="Upstream course tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmd = commands.add_parser(
        "link", help="print the nbgitpuller link that distributes the course on a JupyterHub",
        description="Print the nbgitpuller link that clones the course into each trainee's home "
        "on a JupyterHub and opens the orientation module in JupyterLab.",
    )
    cmd.add_argument("--hub", required=True, metavar="URL",
                     help="the hub's address, e.g. https://hub.example.org")
    cmd.add_argument("--repo", metavar="URL",
                     help="the course's git repository (https:// or file://); "
                     "default: the 'origin' remote of this checkout")
    cmd.add_argument("--branch", default=link.DEFAULT_BRANCH, metavar="NAME",
                     help=f"branch to distribute (default: {link.DEFAULT_BRANCH})")
    cmd.add_argument("--open", default=link.ORIENTATION, metavar="NOTEBOOK", dest="notebook",
                     help=f"notebook to open, relative to the repository (default: {link.ORIENTATION})")
    ws = commands.add_parser(
        "workspace", help="put the trainee's copy of the course into a folder",
        description="Copy the course's modules and exercises (student versions) into FOLDER. "
        "Run it again after a course update: notebooks you changed are kept.")
    ws.add_argument("folder", nargs="?", default="upstream-course", metavar="FOLDER",
                    help="where your copy goes (default: ./upstream-course)")
    dist = commands.add_parser(
        "dist", help="write the trainee distribution into an empty folder",
        description="Write exactly what trainees get (no solutions, no hidden tests) into an "
        "empty FOLDER, e.g. to publish it as the trainee branch.")
    dist.add_argument("folder", metavar="FOLDER", help="a new or empty folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "workspace":
            print(workspace.seed(args.folder).summary())
            return 0
        if args.command == "dist":
            files = workspace.build_distribution(args.folder)
            print(f"wrote {len(files)} file(s) of the trainee distribution to {args.folder}")
            return 0
        if args.command == "link":
            repo = args.repo if args.repo is not None else link.default_repo()
            print(link.nbgitpuller_link(args.hub, repo, args.branch, args.notebook))
    except (link.LinkError, workspace.WorkspaceError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
