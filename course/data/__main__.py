"""``python -m course.data [list|check|rehash]``: list, check or re-hash the course datasets."""

import sys

from course.data import DEFAULT, DatasetError


def main(argv: list[str]) -> int:
    """``python -m course.data [list|check|rehash]``."""
    command = argv[0] if argv else "check"
    catalogue = DEFAULT
    if command == "rehash":
        changed = catalogue.rehash()
        print(f"updated {len(changed)} hash(es): {', '.join(changed) or 'none changed'}")
    elif command == "list":
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
                  "for it (see CONTRIBUTING.md, Data) and run `python -m course.data rehash`")
        total = len(catalogue.names())
        print(f"{total - failed} of {total} datasets OK; {len(unlisted)} file(s) not in the manifest")
        return 1 if failed or unlisted else 0
    else:
        print("usage: python -m course.data [list|check|rehash]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
