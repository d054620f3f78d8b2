"""Hashing a file while a random-access reader walks it, so a zip is read once, not twice.

A digest needs the bytes in order; a zip inspector reads the end of the file first (the
central directory), jumps to each header, then reads the members front to back. The
members are nearly all of a zip's bytes and tile it from byte 0, so the digest can follow
the reads that pass its frontier (the first byte not hashed yet) and read for itself
only what they skip: the few bytes between members it walks over (a directory entry's
header, a data descriptor) at once, from what the reader just fetched, and at the end
whatever is left (the central directory, or all of a file whose inspection stopped
early).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, BinaryIO

from .limits import CHUNK

if TYPE_CHECKING:
    from ..hashes import Digesting

# A read this far past the frontier is a hop over a header or a descriptor: hashed at
# once. A longer jump (a header walk, the directory) waits for the reads to come by.
_GAP = 64 * 1024


class InOrderHasher(io.RawIOBase):
    """A seekable reader over ``archive`` (``size`` bytes) that feeds ``hasher`` each byte
    once, in order. Call ``finish()`` after the last read of the inspection.

    ``hasher`` is the validator's ``BackgroundHasher``: the digests take a core of their
    own beside the inspection's CRCs and RECORD hashes."""

    def __init__(self, archive: BinaryIO, size: int, hasher: Digesting) -> None:
        super().__init__()
        self._archive = archive
        self._size = size
        self._hasher = hasher
        self._frontier = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._archive.seek(offset, whence)

    def tell(self) -> int:
        return self._archive.tell()

    def read(self, size: int | None = -1) -> bytes:
        position = self._archive.tell()
        if 0 < position - self._frontier <= _GAP:
            self._archive.seek(self._frontier)
            self._pass(self._frontier, self._archive.read(position - self._frontier))
            self._archive.seek(position)
        data = self._archive.read(-1 if size is None else size)
        self._pass(position, data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _pass(self, position: int, data: bytes) -> None:
        if position <= self._frontier < position + len(data):
            self._hasher.update(memoryview(data)[self._frontier - position :])
            self._frontier = position + len(data)

    def finish(self) -> None:
        """Hash what the inspection's reads did not pass, to the end of the file."""
        while self._frontier < self._size:
            self._archive.seek(self._frontier)
            data = self._archive.read(min(CHUNK, self._size - self._frontier))
            if not data:
                return  # shorter than its size: the hasher's count says so
            self._pass(self._frontier, data)
