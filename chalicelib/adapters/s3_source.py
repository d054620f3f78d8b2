"""An S3 object as a ByteSource, read from S3 once.

``stream()`` fetches the object with parallel ranged GETs and hands the blocks over in
order (at most ``workers + 1`` blocks in memory, whatever the size); as they pass, the
blocks are also written to a temporary file, so the validator's second look at the
bytes (the archive's members, read through ``random_access()``) comes from local disk,
not from S3 again. An object larger than ``spool_limit`` (Lambda's /tmp is 512 MB) is not
spooled: the validator then reads it once through ``random_access()``, ranged GETs
fetched ahead, and hashes it as the archive's reads pass (domain/inspection/in_order.py).
"""

from __future__ import annotations

import io
import os
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO, cast

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.ports import StorageReadError

_BUFFER = 8 * 1024 * 1024
BLOCK = 8 * 1024 * 1024
WORKERS = 4
SPOOL_LIMIT = 384 * 1024 * 1024
_PROBE = 64 * 1024  # what a read away from the last one fetches at most


def _get_range(client: Any, bucket: str, key: str, etag: str | None, start: int, end: int) -> bytes:
    """Bytes ``start..end`` (inclusive) of the object version with ``etag``."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "Range": f"bytes={start}-{end}"}
    if etag:
        # The object must not change under the validator.
        kwargs["IfMatch"] = etag
    try:
        response = client.get_object(**kwargs)
        with response["Body"] as body:
            return bytes(body.read())
    except (ClientError, BotoCoreError) as error:
        # A timeout or a dropped connection, once botocore's retries are spent, is S3's
        # failure too, not the file's: some are OSErrors, which the archive readers would
        # otherwise take for a corrupt archive and refuse a good file for good.
        raise StorageReadError(f"cannot read s3://{bucket}/{key}") from error


class _PositionedReader(io.RawIOBase):
    """A seekable reader of ``size`` bytes with a position of its own; subclasses say how
    to read at a position (zip's random access needs nothing more)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            # What a real file says, and what zipfile expects of a file shorter than its probe.
            raise OSError(22, "Invalid argument: negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self._size or len(buffer) == 0:
            return 0
        data = self._read_at(self._pos, min(len(buffer), self._size - self._pos))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _read_at(self, position: int, length: int) -> bytes | memoryview:
        raise NotImplementedError


class _RangeReader(_PositionedReader):
    """Reads of one object version through ranged GETs, with no buffer above them.

    A read that goes on where the last one ended (a member's bytes, front to back), or
    falls in a window already fetched, is answered from ``block``-sized windows fetched
    ahead, ``workers`` GETs in flight, as ``stream()`` fetches: one GET per read would be a
    round trip each (tens of ms on S3), and the archive's members are most of its bytes. A
    read elsewhere (the central directory, a member's header) fetches ``_PROBE`` bytes,
    kept for the small reads that follow it. ``read()`` copies each byte once, out of the
    window: a ``BufferedReader`` above would copy it twice more, a quarter of the
    validator's time on a large file. Memory stays within ``2 * workers`` windows and the
    read being answered, whatever the size: after a jump, GETs already under way finish (a
    running future cannot be cancelled) and are dropped.
    """

    def __init__(self, source: S3Source) -> None:
        super().__init__(source.size)
        self._source = source
        self._block = source.block
        self._workers = source.workers
        self._next = -1  # where a read that goes on would start
        self._windows: dict[int, Future[bytes]] = {}  # window number -> its GET
        self._pool: ThreadPoolExecutor | None = None
        self._probe_at = -1
        self._probe = b""

    def read(self, size: int | None = -1) -> bytes:
        left = self._size - self._pos
        wanted = max(0, left if size is None or size < 0 else min(size, left))
        first = self._read_at(self._pos, wanted) if wanted else b""
        self._pos += len(first)
        if len(first) == wanted:
            return bytes(first)  # within one window or probe: the common case
        # Across windows (a large central directory, a member's read at a window's end):
        # into one buffer as they come, so a window is let go once copied.
        out = bytearray(wanted)
        out[: len(first)] = first
        filled = len(first)
        while filled < wanted:
            piece = self._read_at(self._pos, wanted - filled)
            if not piece:
                del out[filled:]
                break
            out[filled : filled + len(piece)] = piece
            filled += len(piece)
            self._pos += len(piece)
        # A bytearray is bytes to every reader here (zipfile, struct, hashlib), and
        # converting it would copy it again.
        return out  # type: ignore[return-value]  # see the comment above

    def readall(self) -> bytes:
        return self.read()

    def _read_at(self, position: int, length: int) -> bytes | memoryview:
        offset = position - self._probe_at
        if 0 <= offset < len(self._probe):
            data = memoryview(self._probe)[offset : offset + length]
            self._next = position + len(data)
            return data
        number = position // self._block
        if position != self._next and number not in self._windows:
            self._forget(keep=None)
            self._probe_at = position
            self._probe = self._get(position, min(position + _PROBE, self._size))
            data = memoryview(self._probe)[:length]
            self._next = position + len(data)
            return data
        self._forget(keep=number)
        for ahead in range(number, min(number + self._workers, self._windows_in_object)):
            if ahead not in self._windows:
                self._windows[ahead] = self._fetch(ahead)
        window = self._windows[number].result()
        offset = position - number * self._block
        # To the window's end at most (read() goes on into the next), and a view.
        data = memoryview(window)[offset : offset + length]
        self._next = position + len(data)
        return data

    @property
    def _windows_in_object(self) -> int:
        return -(-self._size // self._block)

    def _fetch(self, number: int) -> Future[bytes]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._workers)
        start = number * self._block
        return self._pool.submit(self._get, start, min(start + self._block, self._size))

    def _get(self, start: int, end: int) -> bytes:
        return self._source.get_range(start, end - 1)

    def _forget(self, keep: int | None) -> None:
        """Drop the windows behind ``keep`` (all of them for a jump)."""
        for number in [n for n in self._windows if keep is None or n < keep]:
            self._windows.pop(number).cancel()

    def close(self) -> None:
        self._forget(keep=None)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        super().close()


class _SpoolReader(_PositionedReader):
    """Reads of the spool file (``os.pread``), so readers never disturb each other or the
    spool's writer."""

    def __init__(self, fd: int, size: int) -> None:
        super().__init__(size)
        self._fd = fd

    def _read_at(self, position: int, length: int) -> bytes:
        return os.pread(self._fd, length, position)


class _BlockStream(io.RawIOBase):
    """The object front to back, from blocks fetched ahead in parallel."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        super().__init__()
        self._blocks = blocks
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._current = memoryview(block)
        n = min(len(buffer), len(self._current))
        buffer[:n] = self._current[:n]
        self._current = self._current[n:]
        return n

    def close(self) -> None:
        close = getattr(self._blocks, "close", None)
        if close is not None:
            close()  # a generator stops fetching ahead
        super().close()


class S3Source:
    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        size: int,
        etag: str | None = None,
        *,
        block: int = BLOCK,
        workers: int = WORKERS,
        spool_limit: int = SPOOL_LIMIT,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._size = size
        self._etag = etag
        self._block = block
        self._workers = workers
        self._spool_limit = spool_limit
        self._spool: BinaryIO | None = None  # complete copy of the object, once streamed

    @property
    def size(self) -> int:
        return self._size

    @property
    def spools(self) -> bool:
        return self._size <= self._spool_limit

    @property
    def block(self) -> int:
        return self._block

    @property
    def workers(self) -> int:
        return self._workers

    def get_range(self, start: int, end: int) -> bytes:
        """Bytes ``start..end`` (inclusive) of this object version."""
        return _get_range(self._client, self._bucket, self._key, self._etag, start, end)

    def _blocks(self) -> Iterator[bytes]:
        """Every block in order, ``workers`` GETs in flight; spooled when small enough."""
        # Closed below, or kept as self._spool and closed by close(): no context manager fits.
        spool = tempfile.TemporaryFile() if self._size <= self._spool_limit else None  # noqa: SIM115
        starts = iter(range(0, self._size, self._block))
        pending: deque[Future[bytes]] = deque()
        written = 0
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            try:

                def submit() -> None:
                    start = next(starts, None)
                    if start is not None:
                        end = min(start + self._block, self._size) - 1
                        pending.append(pool.submit(self.get_range, start, end))

                for _ in range(self._workers):
                    submit()
                while pending:
                    data = pending.popleft().result()
                    submit()
                    if spool is not None:
                        spool.write(data)
                        written += len(data)
                    yield data
                if spool is not None and written == self._size:
                    spool.flush()
                    if self._spool is not None:
                        self._spool.close()
                    self._spool, spool = spool, None
            finally:
                for future in pending:
                    future.cancel()
                if spool is not None:
                    spool.close()

    def stream(self) -> BinaryIO:
        return io.BufferedReader(_BlockStream(self._blocks()), buffer_size=_BUFFER)

    def random_access(self) -> BinaryIO:
        if self._spool is not None:
            return io.BufferedReader(
                _SpoolReader(self._spool.fileno(), self._size), buffer_size=_BUFFER
            )
        # Buffers of its own (the windows and the last probe): no BufferedReader above.
        return cast(BinaryIO, _RangeReader(self))

    def close(self) -> None:
        """Delete the spool file (the garbage collector would, a little later)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None
