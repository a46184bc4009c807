"""``python -m course.data [list|check]``: list or check the course datasets.

Rewriting the manifest's hashes after a deliberate edit is a maintainer's job:
``python -m tools.rehash`` (``make rehash``) in a checkout of the repository.
"""

import sys

from course.data import DEFAULT, DatasetError


def main(argv: list[str]) -> int:
    """``python -m course.data [list|check]``."""
    command = argv[0] if argv else "check"
    catalogue = DEFAULT
    if command == "list":
        for name in catalogue.names():
            entry = catalogue.describe(name)
            print(f"{name:32} {entry.get('bytes', 0):>9,} B  {entry.get('title', '')}")
    elif command == "check":
        failed = 0
        for name in catalogue.names():
            try:
                catalogue.verify(name)
            except DatasetError as err:
                failed += 1
                print(f"FAIL {err}\n")
        unlisted = catalogue.unlisted_files()
        for extra in unlisted:
            print(f"FAIL {extra} is in course/datasets but not in datapackage.json: add a resource "
                  "for it (see CONTRIBUTING.md, Data) and run `python -m tools.rehash`")
        total = len(catalogue.names())
        print(f"{total - failed} of {total} datasets OK; {len(unlisted)} file(s) not in the manifest")
        return 1 if failed or unlisted else 0
    elif command == "rehash":
        print("rehash is a maintainer's tool now: run `python -m tools.rehash` (or `make rehash`) "
              "from the repository root", file=sys.stderr)
        return 2
    else:
        print("usage: python -m course.data [list|check]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
