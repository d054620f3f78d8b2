"""Declared file hashes: which are accepted, and checking bytes against them."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections import deque
from types import TracebackType
from typing import Protocol

# The algorithms that satisfy PEP 694's "at least one secure algorithm from
# hashlib.algorithms_guaranteed": the guaranteed ones less the broken (md5, sha1) and
# the variable-length shakes.
SECURE_ALGORITHMS = frozenset(
    {
        "sha224",
        "sha256",
        "sha384",
        "sha512",
        "sha3_224",
        "sha3_256",
        "sha3_384",
        "sha3_512",
        "blake2b",
        "blake2s",
    }
)
# More keys than hashlib has algorithms can only be a mistake or an attempt to make
# the server hash the file many times over.
MAX_ALGORITHMS = 24
_HEX = re.compile(r"^[0-9a-f]+\Z")


class HashError(ValueError):
    """Declared hashes that wharf cannot accept, with the reason for a person."""


def digest_size(name: str) -> int | None:
    """The digest size in bytes of a hashlib algorithm this server can compute, or ``None``.

    PEP 694 allows any name that ``hashlib.new()`` takes without further parameters; the
    shakes need a length to produce a digest, so they are not among them. What
    ``hashlib.new`` offers beyond ``algorithms_guaranteed`` depends on the OpenSSL the
    server runs with, so the answer is asked of hashlib itself, not of a list.
    """
    if name.startswith("shake_"):
        return None
    try:
        return hashlib.new(name).digest_size
    except (ValueError, TypeError):
        return None


def normalize_hashes(declared: object) -> dict[str, str]:
    """Validate a ``{"algorithm": "hexdigest"}`` map; return it with lower-case names and digests.

    Every algorithm ``hashlib.new`` can compute here is accepted (each is checked after
    the upload), at least one of them from ``SECURE_ALGORITHMS``. Raises ``HashError``
    naming every problem at once.
    """
    if not isinstance(declared, dict) or not declared:
        raise HashError("'hashes' must be a non-empty object of algorithm to hex digest.")
    if len(declared) > MAX_ALGORITHMS:
        raise HashError(f"'hashes' may name at most {MAX_ALGORITHMS} algorithms.")
    out: dict[str, str] = {}
    problems = []
    for raw_name, digest in declared.items():
        name = raw_name.lower()
        size = digest_size(name)
        if size is None:
            problems.append(
                f"{raw_name[:40]!r} is not a hash algorithm this server can compute "
                "(any name hashlib.new() takes without parameters is accepted)"
            )
            continue
        if name in out:
            problems.append(f"{name!r} is given more than once")
            continue
        if not isinstance(digest, str):
            problems.append(f"the {name} digest must be a string")
            continue
        digest = digest.lower()
        length = size * 2
        if len(digest) != length or not _HEX.match(digest):
            problems.append(f"the {name} digest must be {length} hexadecimal characters")
            continue
        out[name] = digest
    if problems:
        raise HashError("; ".join(problems) + ".")
    if not SECURE_ALGORITHMS & out.keys():
        raise HashError(
            "At least one secure hash from hashlib.algorithms_guaranteed is required "
            "(sha256 recommended); md5 and sha1 alone are not enough."
        )
    return out


class Digesting(Protocol):
    """What hashes a file's bytes as they pass: given each byte once, in order."""

    def update(self, chunk: bytes | memoryview | bytearray) -> None: ...


class MultiHasher:
    """Feeds the same bytes to every declared algorithm (and sha256, which wharf records)."""

    def __init__(self, algorithms: set[str] | frozenset[str]) -> None:
        self._hashers = {name: hashlib.new(name) for name in {*algorithms, "sha256"}}
        self.size = 0

    def update(self, chunk: bytes | memoryview | bytearray) -> None:
        self.size += len(chunk)
        for hasher in self._hashers.values():
            hasher.update(chunk)

    def hexdigests(self) -> dict[str, str]:
        return {name: hasher.hexdigest() for name, hasher in self._hashers.items()}

    def mismatches(self, declared: dict[str, str]) -> list[str]:
        """The algorithms whose digest differs from the declared one (constant-time compare)."""
        actual = self.hexdigests()
        return sorted(
            name for name, want in declared.items() if not hmac.compare_digest(actual[name], want)
        )


class BackgroundHasher:
    """A ``MultiHasher`` fed on a thread of its own, in order, so that the file's digests
    take a second core while the caller inspects the same bytes (the CRCs and RECORD
    hashes of the members): validation is CPU-bound, and the file's digests were a third
    of it. Use it as a context manager; the digests are final once the block ends.

    Reads smaller than ``BATCH`` are gathered into one chunk before they are handed over,
    so an archive of many small members pays one handoff per ``BATCH``, not per member;
    larger ones are handed over as they are (a caller never changes a chunk it has passed
    on: what it passes is what its reader returned). At most ``PENDING`` bytes wait for
    the thread, so memory stays flat whatever the file's size. Should the thread fail,
    the caller's next handoff, or the end of the block, raises what it met: digests of
    part of a file must never reach a verdict."""

    BATCH = 1024 * 1024
    PENDING = 32 * 1024 * 1024

    def __init__(self, hasher: MultiHasher) -> None:
        self._hasher = hasher
        self.size = 0
        self._gathered = bytearray()
        self._queue: deque[bytes | memoryview | bytearray | None] = deque()
        self._pending = 0
        self._changed = threading.Condition()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="file-digest", daemon=True)

    def __enter__(self) -> BackgroundHasher:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._failed is None:
                self._flush()
        finally:
            self._hand_over(None)
            self._thread.join()
        if self._failed is not None and error is None:
            raise RuntimeError("the file's digests failed") from self._failed

    def update(self, chunk: bytes | memoryview | bytearray) -> None:
        self.size += len(chunk)
        if len(chunk) >= self.BATCH:
            self._flush()
            self._hand_over(chunk)
            return
        self._gathered += chunk
        if len(self._gathered) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._gathered:
            self._hand_over(self._gathered)
            self._gathered = bytearray()

    def _hand_over(self, chunk: bytes | memoryview | bytearray | None) -> None:
        size = len(chunk) if chunk is not None else 0
        with self._changed:
            # One chunk larger than the bound is let through alone, never waited on forever.
            self._changed.wait_for(
                lambda: (
                    self._failed is not None
                    or not self._pending
                    or self._pending + size <= self.PENDING
                )
            )
            if self._failed is not None:
                if chunk is None:
                    return  # the thread has ended: nothing to tell it
                raise RuntimeError("the file's digests failed") from self._failed
            self._queue.append(chunk)
            self._pending += size
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._queue))
                chunk = self._queue.popleft()
            if chunk is None:
                return
            try:
                self._hasher.update(chunk)  # hashlib lets go of the GIL for large updates
            except BaseException as error:  # re-raised in the caller's thread
                with self._changed:
                    self._failed = error
                    self._queue.clear()
                    self._changed.notify_all()
                return
            with self._changed:
                self._pending -= len(chunk)
                self._changed.notify_all()

    def hexdigests(self) -> dict[str, str]:
        return self._hasher.hexdigests()

    def mismatches(self, declared: dict[str, str]) -> list[str]:
        return self._hasher.mismatches(declared)
