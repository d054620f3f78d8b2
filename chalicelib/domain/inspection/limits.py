"""Caps that protect the validator from hostile archives; each is a setting (docs/validation.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

# packaging accepts 2.0 nowhere; PyPI accepts up to 2.5 today, packaging 26 knows 2.6.
# 2.0 (old bdist_wheel) is accepted with a warning and checked as 2.1 (metadata.py).
DEFAULT_METADATA_VERSIONS = frozenset(
    {"1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6"}
)


@dataclass(frozen=True)
class Limits:
    max_members: int = 50_000
    max_uncompressed_bytes: int = 16 * GiB
    # Everything decompressed (member data, headers, padding) past the floor may be at
    # most this many times the file's size, or it is a bomb (PyPI: 64 MiB and 50-fold).
    max_compression_ratio: float = 50.0
    ratio_floor_bytes: int = 64 * MiB
    max_metadata_bytes: int = 2 * MiB
    # RECORD of a wheel with 50,000 files is about 6 MiB.
    max_record_bytes: int = 16 * MiB
    # One PAX extended header or GNU long name; real ones are a few hundred bytes.
    max_tar_header_bytes: int = 1 * MiB
    # What the readers keep while checking one file (names, the zip central directory,
    # metadata, RECORD). With the fixed buffers (a few MiB) this bounds a validation's
    # memory whatever the archive holds; docs/validation.md states the resulting bound.
    max_held_bytes: int = 96 * MiB
    # Reject wheels whose RECORD does not match their contents (PyPI only warns).
    enforce_record: bool = True
    allow_local_versions: bool = False
    metadata_versions: frozenset[str] = field(default=DEFAULT_METADATA_VERSIONS)


CHUNK = 1 * MiB
