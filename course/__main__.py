"""Command line: ``python -m course COMMAND`` (also installed as ``upstream``).

    python -m course link --hub URL [--repo URL] [--branch NAME] [--open NOTEBOOK]
        Print the nbgitpuller link that puts the course into each trainee's home on a
        JupyterHub and opens the orientation module.
"""

from __future__ import annotations

import argparse
import sys

from course import link


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "link":
            repo = args.repo if args.repo is not None else link.default_repo()
            print(link.nbgitpuller_link(args.hub, repo, args.branch, args.notebook))
    except link.LinkError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
