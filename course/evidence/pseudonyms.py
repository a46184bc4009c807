"""Pseudonyms for witnesses: a keyed HMAC of the name, never a bare hash.

A bare SHA-256 of "Amina K." can be reversed by anyone who guesses the name and hashes it; an
HMAC needs the secret key as well. The same name always gives the same pseudonym (so records
about one witness can be linked) only for whoever holds the key.

Where the key lives (the design choice): each locker generates its own random 256-bit key and
keeps it in a *separate file* with 0600 permissions, never in the database. A copy of the
database, a backup or an export therefore reveals no names even to someone who guesses them.
In real work, pass ``key_path`` to keep the key on different storage from the locker (for
instance an encrypted USB key that travels separately) — whoever holds both can re-identify.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import unicodedata
from pathlib import Path

KEY_BYTES = 32
PREFIX = "W-"


def normalise_name(name: str) -> str:
    """One spelling per person: Unicode-normalised, case-folded, single spaces."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a witness name must be a non-empty string; leave it out if unknown")
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def pseudonymise(name: str, key: bytes, length: int = 12) -> str:
    """A stable pseudonym such as ``W-3f9a0c1d2e4b`` for ``name`` under ``key``."""
    if not isinstance(key, bytes | bytearray) or len(key) < 16:
        raise ValueError("the pseudonymisation key must be at least 16 random bytes")
    mac = hmac.new(bytes(key), normalise_name(name).encode("utf-8"), hashlib.sha256)
    return PREFIX + mac.hexdigest()[:length]


def load_or_create_key(path: str | os.PathLike) -> bytes:
    """Read the key at ``path``, creating a fresh random one (mode 0600) if there is none.

    Creation is atomic (write a temporary file, then hard-link it into place), so two processes
    opening a new locker at once end up sharing one key rather than overwriting each other's.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(KEY_BYTES).encode("ascii") + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race; use its key
        finally:
            tmp.unlink()
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PermissionError(f"the key file {path} can be read by other users (mode {mode:o}); "
                              f"run: chmod 600 {path}")
    text = path.read_text("ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"the key file {path} is not a hex key; restore it from your backup") from None
    if len(key) < 16:
        raise ValueError(f"the key in {path} is too short; restore it from your backup")
    return key
