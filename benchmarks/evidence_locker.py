"""Throughput of the evidence locker when adding files, against plain hashing and copying.

Usage: ``.venv/bin/python benchmarks/evidence_locker.py [--small 200] [--large 3] [--large-mb 64]
[--json out.json]``

Two sets of made-up files (random bytes, in a temporary folder): many small files (16 KiB
each, like photos of documents) and a few large ones (like videos). For each set, in one run:

* baseline — what ``sha256sum`` plus ``cp`` does: ``hashlib`` SHA-256 streamed in 1 MiB chunks,
  then ``shutil.copyfile`` to a target folder;
* plain — ``Locker.add_file``: one pass that copies while hashing and fsyncs, a read-only
  evidentiary copy, a working copy, a SQLite transaction (WAL, synchronous=FULL) with the item
  row and a hash-chained custody entry, and two signed lines in the custody journal (the first fsynced);
* encrypted — the same in a locker opened with a passphrase: the copy is sealed with AES-256-GCM
  in 1 MiB segments while it is hashed, and the row's sensitive fields are sealed too.

Reported: files/s and MB/s for each, and each locker's time as a multiple of the baseline's;
the time ``verify()`` takes to re-hash (and, encrypted, decrypt) everything and walk the chain;
the time to open an encrypted locker (the scrypt key derivation, at the default cost); and the
load average, since the figures depend on the disk and on what else the machine is doing.
Nothing is asserted: these are figures to read.
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


def row(name: str, paths: list[Path], base: float, plain: float, sealed: float) -> dict:
    mb = sum(p.stat().st_size for p in paths) / 1e6
    out = {"set": name, "files": len(paths), "MB": round(mb, 1)}
    for what, seconds in (("baseline", base), ("plain", plain), ("encrypted", sealed)):
        out[f"{what}_files_per_s"] = round(len(paths) / seconds, 1)
        out[f"{what}_MB_per_s"] = round(mb / seconds, 1)
    out["plain_time_over_baseline"] = round(plain / base, 2)
    out["encrypted_time_over_baseline"] = round(sealed / base, 2)
    out["encrypted_time_over_plain"] = round(sealed / plain, 2)
    return out


PASSPHRASE = "benchmark passphrase, made up"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=200, help="number of 16 KiB files")
    parser.add_argument("--large", type=int, default=3, help="number of large files")
    parser.add_argument("--large-mb", type=int, default=64, help="size of each large file, MiB")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = {"small (16 KiB)": make_files(tmp / "in", args.small, 16 * 1024, "s"),
                f"large ({args.large_mb} MiB)": make_files(tmp / "in", args.large,
                                                           args.large_mb * 1024 * 1024, "L")}
        rows, verify_s = [], {}
        Locker(tmp / "sealed", passphrase=PASSPHRASE).close()  # made at the default cost
        started = time.perf_counter()
        sealed = Locker(tmp / "sealed", passphrase=PASSPHRASE)
        open_s = time.perf_counter() - started
        with Locker(tmp / "plain") as plain, sealed:
            for name, paths in sets.items():
                base = baseline(paths, tmp / "baseline" / name.split()[0])
                rows.append(row(name, paths, base, locker_add(paths, plain),
                                locker_add(paths, sealed)))
            for what, locker in (("plain", plain), ("encrypted", sealed)):
                started = time.perf_counter()
                report = locker.verify()
                verify_s[what] = round(time.perf_counter() - started, 2)
                if not report.intact:
                    raise SystemExit(f"{what} locker did not verify: {report.summary()}")
            items, entries = report.checked["items"], report.checked["log entries"]
    load_after = os.getloadavg()
    print(f"{'set':18} {'files':>5} {'MB':>7} | {'baseline f/s':>12} {'MB/s':>7} | "
          f"{'plain f/s':>9} {'MB/s':>7} {'x base':>6} | {'encr. f/s':>9} {'MB/s':>7} "
          f"{'x base':>6} {'x plain':>7}")
    for r in rows:
        print(f"{r['set']:18} {r['files']:5d} {r['MB']:7.1f} | {r['baseline_files_per_s']:12.1f} "
              f"{r['baseline_MB_per_s']:7.1f} | {r['plain_files_per_s']:9.1f} "
              f"{r['plain_MB_per_s']:7.1f} {r['plain_time_over_baseline']:6.2f} | "
              f"{r['encrypted_files_per_s']:9.1f} {r['encrypted_MB_per_s']:7.1f} "
              f"{r['encrypted_time_over_baseline']:6.2f} {r['encrypted_time_over_plain']:7.2f}")
    print("(x base, x plain: time taken as a multiple of the baseline's / the plain locker's)")
    print(f"verify() of {items} items and {entries} log entries, all intact: "
          f"plain {verify_s['plain']:.2f} s, encrypted {verify_s['encrypted']:.2f} s")
    print(f"opening the encrypted locker (scrypt n=2**17, r=8, p=1): {open_s:.2f} s")
    print(f"load average (1, 5, 15 min) before {', '.join(f'{x:.2f}' for x in load_before)}; "
          f"after {', '.join(f'{x:.2f}' for x in load_after)}; {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "verify_s": verify_s,
                                         "open_encrypted_s": round(open_s, 2),
                                         "load_before": load_before, "load_after": load_after},
                                        indent=2))


if __name__ == "__main__":
    main()
