"""Benchmarks: `make bench` runs them and prints numbers."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Standard output to /dev/null, for the app run in-process: its request lines and EMF
    metrics would land between the numbers (the logger holds the stream itself, so at the
    file descriptor)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
