"""One allowance per file for everything the archive readers decompress or keep.

Counting happens where bytes are produced (the gzip and zip member readers) and where
they are kept (names, headers, metadata), so no archive can make the validator do
more work or hold more memory than its allowance, whatever its headers claim.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .report import Abort

if TYPE_CHECKING:
    from .limits import Limits

# What a kept name costs beyond its bytes: the str object and its set/dict slot.
PER_ENTRY_OVERHEAD = 160


class Budget:
    def __init__(self, *, compressed_size: int, limits: Limits, what: str) -> None:
        self.what = what
        self.absolute = limits.max_uncompressed_bytes
        self.ratio_limit = max(
            limits.ratio_floor_bytes, int(limits.max_compression_ratio * max(compressed_size, 1))
        )
        self.expand_limit = min(self.absolute, self.ratio_limit)
        self.hold_limit = limits.max_held_bytes
        self.expanded = 0
        self.held = 0

    def expand(self, count: int) -> None:
        """Count ``count`` bytes produced from the archive (decompressed or read raw)."""
        self.expanded += count
        if self.expanded > self.expand_limit:
            raise self._bomb(self.expanded)

    def check_claim(self, total: int) -> None:
        """Refuse early when the archive's own size fields already claim too much."""
        if total > self.expand_limit:
            raise self._bomb(total)

    def hold(self, count: int, what: str) -> None:
        """Count ``count`` bytes kept in memory until the inspection ends."""
        self.held += count
        if self.held > self.hold_limit:
            raise Abort(
                "archive-memory",
                f"checking the {self.what} needs more than {self.hold_limit} bytes of memory "
                f"(names, headers and metadata; exceeded at {what})",
            )

    def _bomb(self, total: int) -> Abort:
        if total > self.absolute:
            return Abort(
                "archive-bomb",
                f"the {self.what} expands past {self.absolute} bytes, the most this index takes",
            )
        return Abort(
            "archive-bomb",
            f"the {self.what} expands past {self.ratio_limit} bytes, more than its size "
            "allows (a decompression bomb); headers and padding count as well as file data",
        )
