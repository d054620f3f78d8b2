"""Bytes on disk or in memory as a ByteSource (benchmarks, tests, the legacy API)."""

from __future__ import annotations

import io
import os
from typing import BinaryIO


class FileSource:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = path

    @property
    def size(self) -> int:
        return os.path.getsize(self._path)

    def stream(self) -> BinaryIO:
        return open(self._path, "rb")  # the caller closes it

    def random_access(self) -> BinaryIO:
        return open(self._path, "rb")  # the caller closes it


class BytesSource:
    """An upload held in memory (the legacy API's small files)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    @property
    def size(self) -> int:
        return len(self._data)

    def stream(self) -> BinaryIO:
        return io.BytesIO(self._data)

    def random_access(self) -> BinaryIO:
        return io.BytesIO(self._data)
