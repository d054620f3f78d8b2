"""Staged uploads in the bucket: multipart uploads under the staging prefix.

Every mechanism ends in a multipart upload at the file's staging key, so that
`complete` is one CompleteMultipartUpload whatever the mechanism, and the object
appears (firing the validator's event) only then. Parts carry SHA-256 checksums,
which S3 verifies on arrival.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from .aws_errors import error_code
from .s3_source import SPOOL_LIMIT, S3Source


class S3Staging:
    def __init__(self, client: Any, bucket: str, *, spool_limit: int = SPOOL_LIMIT) -> None:
        self._client = client
        self._bucket = bucket
        self._spool_limit = spool_limit

    def start_upload(self, key: str, *, checksums: bool = True) -> str:
        extra = {"ChecksumAlgorithm": "SHA256"} if checksums else {}
        response = self._client.create_multipart_upload(Bucket=self._bucket, Key=key, **extra)
        return str(response["UploadId"])

    def presign_part(self, key: str, upload_id: str, number: int, expires: int) -> str:
        return str(
            self._client.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "UploadId": upload_id,
                    "PartNumber": number,
                },
                ExpiresIn=expires,
            )
        )

    def put_part(self, key: str, upload_id: str, number: int, body: bytes) -> None:
        checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
        self._client.upload_part(
            Bucket=self._bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=checksum,
        )

    def _list_parts(self, key: str, upload_id: str) -> list[dict[str, Any]]:
        paginator = self._client.get_paginator("list_parts")
        parts: list[dict[str, Any]] = []
        for page in paginator.paginate(Bucket=self._bucket, Key=key, UploadId=upload_id):
            parts.extend(page.get("Parts", []))
        return sorted(parts, key=lambda p: p["PartNumber"])

    def parts(self, key: str, upload_id: str) -> list[tuple[int, int, str]]:
        return [(p["PartNumber"], p["Size"], p["ETag"]) for p in self._list_parts(key, upload_id)]

    def finish_upload(self, key: str, upload_id: str) -> None:
        parts = [
            {
                "PartNumber": p["PartNumber"],
                "ETag": p["ETag"],
                "ChecksumSHA256": p["ChecksumSHA256"],
            }
            if p.get("ChecksumSHA256")
            else {"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
            for p in self._list_parts(key, upload_id)
        ]
        self._client.complete_multipart_upload(
            Bucket=self._bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )

    def abort_upload(self, key: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if error_code(error) not in ("NoSuchUpload", "404"):
                raise

    def delete_prefix(self, prefix: str) -> None:
        paginator = self._client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            for start in range(0, len(doomed), 1000):
                self._client.delete_objects(
                    Bucket=self._bucket,
                    Delete={"Objects": doomed[start : start + 1000], "Quiet": True},
                )

    def object_info(self, key: str) -> tuple[int, str] | None:
        try:
            response = self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error_code(error) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(response["ContentLength"]), str(response["ETag"])

    def source(self, key: str, size: int, etag: str) -> S3Source:
        return S3Source(self._client, self._bucket, key, size, etag, spool_limit=self._spool_limit)

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    def open(self, key: str) -> BinaryIO:
        body: BinaryIO = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
        return body
