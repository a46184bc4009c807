"""``course.evidence``: an evidence locker with a tamper-evident custody log (Module 3).

    from course.evidence import Locker
    with Locker(folder) as locker:
        item = locker.add_file("photo.jpg", handler="D. Okello", source="community member",
                               method="received on USB stick")
        locker.add_incident({...}, handler="D. Okello")
        print(locker.verify().summary())

    # encrypted at rest: files and sensitive fields sealed under a passphrase
    with Locker(folder, passphrase="four unrelated words here") as locker: ...

Plain functions for the exercises: ``sha256_file``, ``entry_hash``, ``first_broken``,
``validate_incident``, ``pseudonymise``; ``try_open`` says whether a locker opens, and why not.
"""

from .chain import GENESIS, entry_hash, first_broken, record_hash
from .hashing import CHUNK_SIZE, sha256_file
from .locker import Anchor, Locker, LockerError, safe_filename, try_open
from .pseudonyms import load_or_create_key, pseudonymise
from .records import InvalidRecord, validate_incident
from .verify import KINDS, Problem, Report
from .vocab import VOCABULARIES

__all__ = ["CHUNK_SIZE", "GENESIS", "KINDS", "VOCABULARIES", "Anchor", "InvalidRecord", "Locker",
           "LockerError", "Problem", "Report", "entry_hash", "first_broken", "load_or_create_key",
           "pseudonymise", "record_hash", "safe_filename", "sha256_file", "try_open",
           "validate_incident"]
