"""``vnd-wharf-s3multipart-presigned-v1`` (docs/multipart.md): the client PUTs parts
straight to S3 on presigned URLs, asks which parts S3 holds to resume, then completes."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ...domain import multipart
from ...domain.clock import rfc3339_seconds
from ...domain.errors import FileNotPendingError, InvalidRequestError
from ...domain.lifecycle import FileStatus
from . import Endpoint, Transfer, TransferPolicy, TransferReply, TransferRequest

if TYPE_CHECKING:
    from ...domain.sessions import FileRecord

PARTS = "parts"
MAX_PARTS_ASKED = 1000


class S3MultipartPresigned:
    identifier = multipart.MECHANISM
    checksummed_parts = False
    endpoints = {PARTS: Endpoint(methods=("GET", "POST"), json_reply=True)}

    def part_size(self, size: int, hint: int | None, policy: TransferPolicy) -> int | None:
        return multipart.choose_part_size(size, hint, policy.default_part_size)

    def describe(self, record: FileRecord, file_url: str) -> dict[str, Any]:
        described: dict[str, Any] = {"identifier": self.identifier}
        if record.part_size:
            described.update(
                {
                    "parts_url": f"{file_url}/{PARTS}",
                    "part_size": record.part_size,
                    "part_count": multipart.part_count(record.size, record.part_size),
                    "received_parts": record.received_parts,
                    "received_bytes": record.received_bytes,
                }
            )
        return described

    def completion_problems(
        self, record: FileRecord, parts: list[tuple[int, int, str]]
    ) -> list[str]:
        if not record.part_size:
            return []
        return multipart.part_problems(parts, record.size, record.part_size)

    def handle(
        self, endpoint: str, transfer: Transfer, record: FileRecord, request: TransferRequest
    ) -> TransferReply:
        """The parts S3 already holds (to resume from) and presigned PUT URLs for the parts
        asked for (``{"parts": [numbers]}``, at most 1000 a request). URLs live
        ``part_url_seconds``; asking again renews them."""
        wanted = _wanted(request) if request.method == "POST" else []
        assert record.part_size and record.upload_id
        if record.status is not FileStatus.PENDING:
            raise FileNotPendingError(f"The file upload session is {record.status}, not pending.")
        count = multipart.part_count(record.size, record.part_size)
        bad = [n for n in wanted if not 1 <= n <= count]
        if bad:
            raise InvalidRequestError(
                f"Part numbers run from 1 to {count}; got {', '.join(map(str, bad[:10]))}.",
                errors=[{"source": "parts", "message": "part number out of range"}],
            )
        held = transfer.staging.parts(record.staged_key, record.upload_id)
        transfer.store.record_progress(record, len(held), sum(size for _, size, _ in held))
        expires = transfer.policy.part_url_seconds
        urls = {
            n: transfer.staging.presign_part(record.staged_key, record.upload_id, n, expires)
            for n in wanted
        }
        return TransferReply(
            200,
            {
                "part_size": record.part_size,
                "part_count": count,
                "parts": [{"number": n, "size": size, "etag": etag} for n, size, etag in held],
                "urls": {str(n): url for n, url in sorted(urls.items())},
                "urls-expire-at": rfc3339_seconds(transfer.clock() + timedelta(seconds=expires)),
            },
        )


def _wanted(request: TransferRequest) -> list[int]:
    raw = request.json().get("parts", [])
    valid = isinstance(raw, list) and len(raw) <= MAX_PARTS_ASKED
    if not valid or not all(isinstance(n, int) and not isinstance(n, bool) for n in raw):
        raise InvalidRequestError(
            f"'parts' must be a list of at most {MAX_PARTS_ASKED} part numbers.",
            errors=[{"source": "parts", "message": "list of integers"}],
        )
    return sorted(set(raw))
