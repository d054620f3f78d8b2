"""``http-post-bytes`` (required by PEP 694): the whole file as one request body.

The body becomes the single part of the file's multipart upload, so ``complete`` is
the same CompleteMultipartUpload as for any other mechanism; S3 verifies the part's
SHA-256 on arrival.
"""

from __future__ import annotations

from typing import Any

from ...domain.errors import (
    FileNotPendingError,
    InvalidRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from ...domain.lifecycle import FileStatus
from ...domain.sessions import HTTP_POST_BYTES, FileRecord
from . import Endpoint, Transfer, TransferPolicy, TransferReply, TransferRequest

BYTES = "bytes"


class HttpPostBytes:
    identifier = HTTP_POST_BYTES
    checksummed_parts = True
    endpoints = {BYTES: Endpoint(methods=("POST",), json_reply=False)}

    def part_size(self, size: int, hint: int | None, policy: TransferPolicy) -> int | None:
        return None

    def describe(self, record: FileRecord, file_url: str) -> dict[str, Any]:
        return {"identifier": self.identifier, "file_url": f"{file_url}/{BYTES}"}

    def completion_problems(
        self, record: FileRecord, parts: list[tuple[int, int, str]]
    ) -> list[str]:
        return []

    def handle(
        self, endpoint: str, transfer: Transfer, record: FileRecord, request: TransferRequest
    ) -> TransferReply:
        if request.content_type != "application/octet-stream":
            raise UnsupportedMediaTypeError("Send the file's bytes as application/octet-stream.")
        limit = transfer.policy.inline_limit
        if len(request.body) > limit:
            raise PayloadTooLargeError(
                f"The body is {len(request.body)} bytes; http-post-bytes takes at most "
                f"{limit} bytes here. Use the vnd-wharf-s3multipart-presigned-v1 mechanism "
                "(wharf upload does) for larger files."
            )
        if record.status is not FileStatus.PENDING:
            raise FileNotPendingError(f"The file upload session is {record.status}, not pending.")
        if len(request.body) != record.size:
            raise InvalidRequestError(
                f"The body is {len(request.body)} bytes, but the file upload session declared "
                f"{record.size}."
            )
        assert record.upload_id
        transfer.staging.put_part(record.staged_key, record.upload_id, 1, request.body)
        return TransferReply(204)
