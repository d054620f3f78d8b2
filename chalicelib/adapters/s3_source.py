"""An S3 object as a ByteSource: one streaming GET, or ranged GETs behind a buffer."""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from ..domain.ports import StorageReadError

_BUFFER = 8 * 1024 * 1024


class _RangeReader(io.RawIOBase):
    """Seekable reads of one object version through ranged GETs (for zip's random access)."""

    def __init__(self, client: Any, bucket: str, key: str, size: int, etag: str | None) -> None:
        super().__init__()
        self._client = client
        self._bucket = bucket
        self._key = key
        self._size = size
        self._etag = etag
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
        end = min(self._pos + len(buffer), self._size) - 1
        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Key": self._key}
        if self._etag:
            # The object must not change under the validator.
            kwargs["IfMatch"] = self._etag
        try:
            response = self._client.get_object(Range=f"bytes={self._pos}-{end}", **kwargs)
        except ClientError as error:
            raise StorageReadError(f"cannot read s3://{self._bucket}/{self._key}") from error
        data = response["Body"].read()
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class S3Source:
    def __init__(
        self, client: Any, bucket: str, key: str, size: int, etag: str | None = None
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._size = size
        self._etag = etag

    @property
    def size(self) -> int:
        return self._size

    def stream(self) -> BinaryIO:
        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Key": self._key}
        if self._etag:
            kwargs["IfMatch"] = self._etag
        body: BinaryIO = self._client.get_object(**kwargs)["Body"]
        return body

    def random_access(self) -> BinaryIO:
        raw = _RangeReader(self._client, self._bucket, self._key, self._size, self._etag)
        return io.BufferedReader(raw, buffer_size=_BUFFER)
