"""Bytes held in memory as a ByteSource (the legacy API's small files, tests)."""

from __future__ import annotations

import io
from typing import BinaryIO


class BytesSource:
    """An upload held in memory."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    @property
    def size(self) -> int:
        return len(self._data)

    def stream(self) -> BinaryIO:
        return io.BytesIO(self._data)

    def random_access(self) -> BinaryIO:
        return io.BytesIO(self._data)

    @property
    def spools(self) -> bool:
        return False  # read where it is, once
