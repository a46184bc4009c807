"""Throughput of the evidence locker when adding files, against plain hashing and copying.

Usage: ``.venv/bin/python benchmarks/evidence_locker.py [--small 200] [--large 3] [--large-mb 64]
[--json out.json]``

Two sets of made-up files (random bytes, in a temporary folder): many small files (16 KiB
each, like photos of documents) and a few large ones (like videos). For each set, in one run:

* baseline — what ``sha256sum`` plus ``cp`` does: ``hashlib`` SHA-256 streamed in 1 MiB chunks,
  then ``shutil.copyfile`` to a target folder;
* locker — ``Locker.add_file``: one pass that copies while hashing and fsyncs, a read-only
  evidentiary copy, a working copy, and a SQLite transaction (WAL, synchronous=FULL) with the
  item row and a hash-chained custody entry.

Reported: files/s and MB/s for each, and the locker's time as a multiple of the baseline's.
Also the time ``verify()`` takes to re-hash everything and walk the chain. Nothing is asserted:
these are figures to read, and they depend on the disk.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course.evidence import CHUNK_SIZE, Locker  # noqa: E402


def make_files(folder: Path, count: int, size: int, prefix: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{prefix}{i:04d}.bin"
        with open(path, "wb") as f:
            for offset in range(0, size, CHUNK_SIZE):
                f.write(os.urandom(min(CHUNK_SIZE, size - offset)))
        paths.append(path)
    return paths


def baseline(paths: list[Path], target: Path) -> float:
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK_SIZE):
                digest.update(chunk)
        shutil.copyfile(path, target / path.name)
    return time.perf_counter() - started


def locker_add(paths: list[Path], locker: Locker) -> float:
    started = time.perf_counter()
    for path in paths:
        locker.add_file(path, handler="benchmark", source="generated", method="add_file")
    return time.perf_counter() - started


def row(name: str, paths: list[Path], base: float, lock: float) -> dict:
    mb = sum(p.stat().st_size for p in paths) / 1e6
    return {"set": name, "files": len(paths), "MB": round(mb, 1),
            "baseline_files_per_s": round(len(paths) / base, 1),
            "baseline_MB_per_s": round(mb / base, 1),
            "locker_files_per_s": round(len(paths) / lock, 1),
            "locker_MB_per_s": round(mb / lock, 1),
            "locker_time_over_baseline": round(lock / base, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=200, help="number of 16 KiB files")
    parser.add_argument("--large", type=int, default=3, help="number of large files")
    parser.add_argument("--large-mb", type=int, default=64, help="size of each large file, MiB")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = {"small (16 KiB)": make_files(tmp / "in", args.small, 16 * 1024, "s"),
                f"large ({args.large_mb} MiB)": make_files(tmp / "in", args.large,
                                                           args.large_mb * 1024 * 1024, "L")}
        rows = []
        with Locker(tmp / "locker") as locker:
            for name, paths in sets.items():
                base = baseline(paths, tmp / "baseline" / name.split()[0])
                rows.append(row(name, paths, base, locker_add(paths, locker)))
            started = time.perf_counter()
            report = locker.verify()
            verify_s = time.perf_counter() - started
    print(f"{'set':18} {'files':>5} {'MB':>7} | {'baseline f/s':>12} {'MB/s':>7} | "
          f"{'locker f/s':>10} {'MB/s':>7} | locker/baseline time")
    for r in rows:
        print(f"{r['set']:18} {r['files']:5d} {r['MB']:7.1f} | {r['baseline_files_per_s']:12.1f} "
              f"{r['baseline_MB_per_s']:7.1f} | {r['locker_files_per_s']:10.1f} "
              f"{r['locker_MB_per_s']:7.1f} | {r['locker_time_over_baseline']:.2f}x")
    print(f"verify() of all {report.checked['items']} items and {report.checked['log entries']} "
          f"log entries: {verify_s:.2f} s ({'intact' if report.intact else 'PROBLEMS'})")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "verify_s": round(verify_s, 2)}, indent=2))


if __name__ == "__main__":
    main()
