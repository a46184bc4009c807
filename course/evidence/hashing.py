"""SHA-256 of files, read in fixed-size chunks so that a 10 GB video needs no more memory than a
photo. The locker hashes while it copies (one read of the source), which is why copying and
hashing live together here."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 1 << 20  # 1 MiB: large enough to keep syscalls cheap, small enough for any machine


def sha256_stream(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> tuple[str, int]:
    """Hash everything left in an open binary stream; return (hex digest, bytes read)."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(chunk_size):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def sha256_file(path: str | os.PathLike, chunk_size: int = CHUNK_SIZE) -> str:
    """The SHA-256 of a file as 64 hex characters, streamed in chunks."""
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive number of bytes, not {chunk_size}")
    with open(path, "rb") as f:
        return sha256_stream(f, chunk_size)[0]


def copy_and_hash(source: BinaryIO, target: str | Path,
                  chunk_size: int = CHUNK_SIZE) -> tuple[str, int]:
    """Copy an open stream into a new file at ``target`` while hashing it; flush it to disk
    (fsync) so the copy survives a power cut once we record it. Returns (sha256, size)."""
    digest, size = hashlib.sha256(), 0
    with open(target, "xb") as out:
        while chunk := source.read(chunk_size):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), size
