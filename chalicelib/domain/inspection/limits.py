"""Caps that protect the validator from hostile archives; each is a setting (docs/validation.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

MiB = 1024 * 1024
GiB = 1024 * MiB

# packaging accepts 2.0 nowhere; PyPI accepts up to 2.5 today, packaging 26 knows 2.6.
DEFAULT_METADATA_VERSIONS = frozenset(
    {"1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6"}
)


@dataclass(frozen=True)
class Limits:
    max_members: int = 50_000
    max_uncompressed_bytes: int = 16 * GiB
    # A member or archive that expands more than this ratio, past the floor, is a bomb
    # (PyPI's rule: over 64 MiB uncompressed and a ratio over 50).
    max_compression_ratio: float = 50.0
    ratio_floor_bytes: int = 64 * MiB
    max_metadata_bytes: int = 2 * MiB
    max_record_bytes: int = 32 * MiB
    # Reject wheels whose RECORD does not match their contents (PyPI only warns).
    enforce_record: bool = True
    metadata_versions: frozenset[str] = field(default=DEFAULT_METADATA_VERSIONS)


CHUNK = 1 * MiB
