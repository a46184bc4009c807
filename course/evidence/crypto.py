"""Encryption at rest for the locker: a passphrase, a sealed data key, sealed files and fields.

How it fits together (all from the ``cryptography`` library; nothing here invents a cipher):

* **Passphrase -> key-encryption key** with scrypt, a memory-hard key-derivation function: each
  guess costs about 128 MiB of memory and a fraction of a second at the default cost, which is
  what makes guessing a passphrase on a seized laptop slow.
* **The data key** is 32 random bytes made when the locker is created. It is stored only
  *sealed* (AES-256-GCM under the key-encryption key) in the key file, ``locker.key``. Every
  other key is derived from it with HKDF: one for the database fields, one per file, one for the
  witness pseudonyms and one that signs the custody journal.
* **Files** are sealed in 1 MiB segments (the "STREAM" construction of Hoang, Reyhanitabar,
  Rogaway and Vizár, 2015): each segment is sealed with AES-GCM under the file's own key, with
  the segment's number as its nonce, and the file's header, the segment number and a "last
  segment" flag as associated data. Swapping, dropping, repeating or appending segments, or
  cutting the file short, makes opening it fail. The SHA-256 of the plaintext is computed while
  sealing, so custody hashes stay those of the original file.
* **Fields** are sealed one by one, each bound to its table, row and column, so a sealed value
  copied into another row or column does not open either.
* **Destroying the key** (crypto-shredding) overwrites the key file: without the data key the
  sealed files and fields cannot be opened, by anyone, with or without the passphrase.
  A backup or an old copy of the key file brings them back: it is the key file, not the
  passphrase, that must be destroyed everywhere.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

KEY_FORMAT = "upstream-locker-key/1"
FILE_MAGIC = b"UPLKSEG1"  # the first bytes of every sealed file
FIELD_PREFIX = "sealed:1:"
SEGMENT = 1 << 20  # plaintext bytes per sealed segment
TAG = 16  # bytes AES-GCM adds to each segment
SCRYPT_N = 2 ** 17  # the default cost: 128 MiB and about 0.2 s per guess on a laptop core
SCRYPT_N_RANGE = (2 ** 10, 2 ** 22)  # below: tests only; above: refused (a planted key file
                                     # must not make the locker allocate gigabytes)
MIN_PASSPHRASE = 8


class Unreadable(Exception):
    """Sealed data that does not open: wrong key, or altered, truncated or reordered."""


class KeyFileError(Exception):
    """The key file is missing, destroyed, damaged, or the passphrase does not open it."""


def _derive(key: bytes, purpose: str, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=f"upstream-locker {purpose}".encode()).derive(key)


def check_passphrase(passphrase: object) -> bytes:
    if not isinstance(passphrase, str) or len(passphrase.strip()) < MIN_PASSPHRASE:
        raise ValueError(f"the passphrase must be a text of at least {MIN_PASSPHRASE} characters "
                         "(a few unrelated words are easier to remember and harder to guess)")
    return passphrase.encode("utf-8")


def _kek(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def create_key_file(path: Path, passphrase: str, n: int = SCRYPT_N) -> bytes:
    """Make a new random data key, seal it under the passphrase into ``path`` (mode 0600, never
    overwriting anything), and return the data key."""
    secret = check_passphrase(passphrase)
    if not (SCRYPT_N_RANGE[0] <= n <= SCRYPT_N_RANGE[1]) or n & (n - 1):
        raise ValueError(f"scrypt_n must be a power of two from {SCRYPT_N_RANGE[0]} to "
                         f"{SCRYPT_N_RANGE[1]} (the default, {SCRYPT_N}, is the one to use)")
    data_key, salt, nonce = secrets.token_bytes(32), secrets.token_bytes(16), secrets.token_bytes(12)
    params = {"format": KEY_FORMAT, "kdf": "scrypt", "n": n, "r": 8, "p": 1, "salt": salt.hex()}
    sealed = AESGCM(_kek(secret, salt, n, 8, 1)).encrypt(nonce, data_key, _params_aad(params))
    text = json.dumps({**params, "nonce": nonce.hex(), "sealed_key": sealed.hex()}, indent=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, text.encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return data_key


def _params_aad(params: dict) -> bytes:
    return json.dumps({k: params[k] for k in ("format", "kdf", "n", "r", "p", "salt")},
                      sort_keys=True).encode("ascii")


def open_key_file(path: Path, passphrase: str) -> bytes:
    """The data key sealed in ``path``; KeyFileError says why it cannot be had."""
    secret = check_passphrase(passphrase)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise KeyFileError(f"the locker's key file {path} is missing; restore it from its backup "
                           "(without it the encrypted evidence cannot be read)") from None
    except OSError as exc:
        raise KeyFileError(f"cannot open the key file {path} ({exc.strerror}); it must be a "
                           "plain file, not a link") from None
    with os.fdopen(fd, "rb") as f:
        raw = f.read(65536)
    try:
        data = json.loads(raw)
    except ValueError:
        raise KeyFileError(f"the key file {path} is damaged; restore it from its backup") from None
    if isinstance(data, dict) and data.get("destroyed_utc"):
        raise KeyFileError(f"this locker's key was destroyed on {data['destroyed_utc']} "
                           "(crypto-shredded): its evidence and sealed fields can no longer be "
                           "read by anyone, and this cannot be undone")
    try:
        n, r, p = int(data["n"]), int(data["r"]), int(data["p"])
        if data["format"] != KEY_FORMAT or data["kdf"] != "scrypt":
            raise ValueError("format")
        if not (SCRYPT_N_RANGE[0] <= n <= SCRYPT_N_RANGE[1]) or not (1 <= r <= 32 and 1 <= p <= 4):
            raise ValueError("cost")
        salt, nonce = bytes.fromhex(data["salt"]), bytes.fromhex(data["nonce"])
        sealed = bytes.fromhex(data["sealed_key"])
    except (KeyError, TypeError, ValueError):
        raise KeyFileError(f"the key file {path} is damaged or not a locker key file; restore "
                           "it from its backup") from None
    try:
        return AESGCM(_kek(secret, salt, n, r, p)).decrypt(nonce, sealed, _params_aad(data))
    except (InvalidTag, ValueError):
        raise KeyFileError("the passphrase does not open this locker's key (or the key file was "
                           "altered); check the passphrase and try again") from None


def destroy_key_file(path: Path) -> str:
    """Overwrite the sealed key in place with random bytes, then replace the file with a note
    saying it was destroyed. Returns the time recorded."""
    when = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    try:
        size = os.fstat(fd).st_size
        os.write(fd, secrets.token_bytes(max(size, 1)))
        os.fsync(fd)
    finally:
        os.close(fd)
    note = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, json.dumps({"format": KEY_FORMAT, "destroyed_utc": when}).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(note, path)
    return when


class Sealer:
    """Seals and opens files and fields under one locker's data key."""

    def __init__(self, data_key: bytes):
        self._fields = AESGCM(_derive(data_key, "fields"))
        self._files_key = _derive(data_key, "files")
        self.pseudonym_key = _derive(data_key, "pseudonyms")
        self.journal_key = _derive(data_key, "journal")

    # -- fields ---------------------------------------------------------------------------------
    def seal_field(self, value: object, aad: str) -> object:
        if value is None:
            return None
        nonce = secrets.token_bytes(12)
        box = self._fields.encrypt(nonce, str(value).encode("utf-8"), aad.encode("utf-8"))
        return FIELD_PREFIX + base64.b64encode(nonce + box).decode("ascii")

    def open_field(self, value: object, aad: str) -> object:
        if value is None:
            return None
        if not isinstance(value, str) or not value.startswith(FIELD_PREFIX):
            raise Unreadable("not sealed")
        try:
            raw = base64.b64decode(value[len(FIELD_PREFIX):], validate=True)
            return self._fields.decrypt(raw[:12], raw[12:], aad.encode("utf-8")).decode("utf-8")
        except (InvalidTag, ValueError) as exc:
            raise Unreadable("does not open") from exc

    # -- files ----------------------------------------------------------------------------------
    def _file_box(self, header: bytes) -> AESGCM:
        return AESGCM(_derive(self._files_key, "file", salt=header))

    @staticmethod
    def _aad(header: bytes, index: int, last: bool) -> bytes:
        return header + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")

    def seal_stream(self, read: Callable[[int], bytes], write: Callable[[bytes], object]
                    ) -> tuple[str, int]:
        """Read plaintext with ``read(n)``, write the sealed file with ``write``; returns the
        plaintext's (sha256, size). The plaintext exists only in memory, one segment at a time."""
        header = FILE_MAGIC + secrets.token_bytes(24)
        box, digest, size = self._file_box(header), hashlib.sha256(), 0
        write(header)
        chunk, index = _read_full(read, SEGMENT), 0
        while True:
            following = _read_full(read, SEGMENT) if len(chunk) == SEGMENT else b""
            last = not following
            digest.update(chunk)
            size += len(chunk)
            write(box.encrypt(index.to_bytes(12, "big"), chunk, self._aad(header, index, last)))
            if last:
                return digest.hexdigest(), size
            chunk, index = following, index + 1

    def open_stream(self, read: Callable[[int], bytes]) -> Iterator[bytes]:
        """The plaintext of a sealed file, segment by segment; raises Unreadable as soon as a
        segment does not open (so nothing after a tampered segment is ever returned)."""
        header = _read_full(read, len(FILE_MAGIC) + 24)
        if len(header) != len(FILE_MAGIC) + 24 or not header.startswith(FILE_MAGIC):
            raise Unreadable("not a sealed locker file")
        box, index = self._file_box(header), 0
        block = _read_full(read, SEGMENT + TAG)
        while True:
            following = _read_full(read, SEGMENT + TAG) if len(block) == SEGMENT + TAG else b""
            last = not following
            try:
                yield box.decrypt(index.to_bytes(12, "big"), block, self._aad(header, index, last))
            except InvalidTag:
                raise Unreadable(f"segment {index} does not open: the file was altered, cut "
                                 "short, reordered or sealed under another key") from None
            if last:
                return
            block, index = following, index + 1


def _read_full(read: Callable[[int], bytes], n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at the end (``read`` may return short reads)."""
    parts, got = [], 0
    while got < n:
        part = read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)
