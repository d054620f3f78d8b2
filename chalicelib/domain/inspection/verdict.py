"""The whole check of one uploaded file: size, every declared hash, the archive, its metadata.

This is the one validator both doors use: the Upload 2.0 validator service on S3 bytes,
the legacy API on the request's bytes, with the same rules and the same notices.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Protocol

from ..filenames import DistKind, DistributionFilename, FilenameError, check_upload_filename
from ..hashes import BackgroundHasher, Digesting, MultiHasher
from .in_order import InOrderHasher
from .limits import CHUNK, Limits
from .rules import notice
from .sdist import inspect_sdist, inspect_zip_sdist
from .wheel import inspect_wheel

if TYPE_CHECKING:
    from packaging.version import Version

    from .report import Inspection


class ByteSource(Protocol):
    """Where an uploaded file's bytes can be read from."""

    @property
    def size(self) -> int:
        """The object's size in bytes."""

    def stream(self) -> BinaryIO:
        """A new sequential reader over the whole object (close it when done)."""

    def random_access(self) -> BinaryIO:
        """A new seekable reader over the object (close it when done)."""

    @property
    def spools(self) -> bool:
        """Whether ``stream()`` leaves a local copy that ``random_access()`` then reads:
        hashing while streaming is then the one read of the source. Otherwise a zip is
        hashed as its inspection reads it (``InOrderHasher``)."""


@dataclass
class Verdict:
    ok: bool
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    metadata: bytes | None = None
    metadata_version: str | None = None
    requires_python: str | None = None


class _HashingReader:
    """A file object that hashes what passes through it, so one pass serves two checks."""

    def __init__(self, raw: BinaryIO, hasher: Digesting) -> None:
        self._raw = raw
        self._hasher = hasher

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._hasher.update(chunk)
        return chunk

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def _hash_all(source: ByteSource, hasher: Digesting) -> None:
    reader = source.stream()
    try:
        _HashingReader(reader, hasher).drain()
    finally:
        reader.close()


def validate_distribution(
    source: ByteSource,
    *,
    filename: str,
    project: str,
    version: Version,
    declared_size: int,
    declared_hashes: dict[str, str],
    limits: Limits,
) -> Verdict:
    """Check an uploaded file against what the client declared and what a distribution must be.

    Every problem found is reported, each as a notice a person can act on; warnings
    (old conventions PyPI accepted) are returned beside them and do not reject the file.
    """
    notices: list[str] = []
    try:
        dist = check_upload_filename(
            filename, project=project, version=version, allow_local=limits.allow_local_versions
        )
    except FilenameError as error:
        return Verdict(ok=False, notices=[error.notice])
    if source.size != declared_size:
        return Verdict(
            ok=False,
            notices=[
                notice(
                    "size-mismatch",
                    f"the file is {source.size} bytes, but {declared_size} were declared",
                )
            ],
        )
    with BackgroundHasher(MultiHasher(set(declared_hashes))) as hasher:
        found = _inspect(source, dist, hasher, limits)
    if hasher.size != declared_size:
        notices.append(
            notice("size-mismatch", f"read {hasher.size} bytes, but {declared_size} were declared")
        )
    for name in hasher.mismatches(declared_hashes):
        notices.append(
            notice("hash-mismatch", f"the {name} digest does not match the one declared")
        )
    if dist.kind is DistKind.SDIST and not dist.is_zip:
        _check_polyglot(source, found)
    notices.extend(found.problems)
    return Verdict(
        ok=not notices,
        notices=notices,
        warnings=[*dist.warnings, *found.warnings],
        digests=hasher.hexdigests(),
        metadata=found.metadata,
        metadata_version=found.metadata_version,
        requires_python=found.requires_python,
    )


def _inspect(
    source: ByteSource, dist: DistributionFilename, hasher: Digesting, limits: Limits
) -> Inspection:
    if dist.kind is DistKind.SDIST and not dist.is_zip:
        # One pass: the sdist is inspected from the same stream that is hashed.
        reader = source.stream()
        try:
            hashing = _HashingReader(reader, hasher)
            # The sdist reader only calls read(), all _HashingReader offers of a BinaryIO.
            found = inspect_sdist(hashing, source.size, dist, limits)  # type: ignore[arg-type]
            hashing.drain()
        finally:
            reader.close()
        return found
    if source.spools:
        # Hashed as it streams to a local copy, the one read of the source; inspected there
        # while the digests catch up.
        _hash_all(source, hasher)
        with source.random_access() as archive:
            return _inspect_zip(archive, source.size, dist, limits)
    with source.random_access() as archive, InOrderHasher(archive, source.size, hasher) as seen:
        # A seekable reader: all zipfile and the walkers use of a BinaryIO.
        found = _inspect_zip(seen, source.size, dist, limits)  # type: ignore[arg-type]
        seen.finish()
    return found


def _inspect_zip(
    archive: BinaryIO, size: int, dist: DistributionFilename, limits: Limits
) -> Inspection:
    if dist.kind is DistKind.SDIST:
        return inspect_zip_sdist(archive, size, dist, limits)
    return inspect_wheel(archive, size, dist, limits)


def _check_polyglot(source: ByteSource, found: Inspection) -> None:
    """A file that is both a zip and a tar can mean different things to different tools."""
    archive = source.random_access()
    try:
        if zipfile.is_zipfile(archive):
            found.note(
                "archive-polyglot",
                "the sdist is also a valid zip archive; refusing an ambiguous file",
            )
    finally:
        archive.close()
