"""``python -m tools.rehash`` (``make rehash``): rewrite the dataset manifest's hashes and sizes.

Run it after changing a file in ``course/datasets`` on purpose (and describe the change in
``course/datasets/README.md``). ``python -m course.data check`` checks every file against the
manifest without changing anything.
"""

from __future__ import annotations

import json
import sys

from course.data import DEFAULT, Catalogue, DatasetFileMissingError, sha256


def rehash(catalogue: Catalogue = DEFAULT) -> list[str]:
    """Rewrite each resource's hash and bytes from its file; return the names that changed."""
    manifest = json.loads(catalogue.manifest_path.read_text(encoding="utf-8"))
    changed = []
    for resource in manifest["resources"]:
        path = catalogue.root / resource["path"]
        if not path.exists():
            raise DatasetFileMissingError(
                f"dataset {resource['name']!r}: {resource['path']} is missing; restore it or remove "
                "its entry from datapackage.json, then rehash again.")
        new = {"hash": f"sha256:{sha256(path)}", "bytes": path.stat().st_size}
        if any(resource.get(k) != v for k, v in new.items()):
            resource.update(new)
            changed.append(resource["name"])
    catalogue.manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    return changed


def main(argv: list[str]) -> int:
    if argv:
        print("usage: python -m tools.rehash   (rehashes course/datasets/datapackage.json)",
              file=sys.stderr)
        return 2
    changed = rehash()
    print(f"updated {len(changed)} hash(es): {', '.join(changed) or 'none changed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
