"""A file on disk as a ByteSource (benchmarks; in memory: domain/inspection/sources.py)."""

from __future__ import annotations

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

    @property
    def spools(self) -> bool:
        return False  # read where it is, once
