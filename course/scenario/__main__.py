"""``python -m course.scenario [DIR]``: regenerate the fictional scenario files (default: course/datasets)."""

import sys
from pathlib import Path

from course.scenario import DATASETS, write


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else DATASETS
    for path in write(target):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    if target == DATASETS:
        print("Now run `python -m course.data rehash` so the manifest's hashes match.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
