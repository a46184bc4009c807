"""``python -m tools.scenario [DIR]``: regenerate the fictional scenario files (default: course/datasets)."""

import sys
from pathlib import Path

from tools.scenario import DATASETS, write


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else DATASETS
    for path in write(target):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    if target == DATASETS:  # keep the manifest's hashes in step with the files just written
        from tools.rehash import rehash

        changed = rehash()
        print(f"manifest hashes updated: {', '.join(changed) or 'none changed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
