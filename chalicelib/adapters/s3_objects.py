"""Whole small objects in the bucket (the static index pages)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..domain.ports import StoredObject
from .aws_errors import error_code

# What S3 says of a published file's bytes: they never change under their key.
IMMUTABLE = "private, max-age=31536000, immutable"


class S3ObjectStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def get(self, key: str) -> StoredObject | None:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error_code(error) in ("NoSuchKey", "404"):
                return None
            raise
        with response["Body"] as body:
            data = body.read()
        return StoredObject(
            body=data,
            etag=response["ETag"],
            metadata=dict(response.get("Metadata", {})),
        )

    def put_if_newer(self, key: str, body: bytes, *, content_type: str, serial: int) -> bool:
        """Write a render unless the stored one has a serial at least as new; conditional
        writes (If-Match / If-None-Match) make sure an older render never replaces a newer."""
        for _ in range(10):
            try:
                head = self._client.head_object(Bucket=self._bucket, Key=key)
            except ClientError as error:
                if error_code(error) not in ("404", "NoSuchKey", "NotFound"):
                    raise
                head = None
            condition: dict[str, str]
            if head is not None:
                if int(head.get("Metadata", {}).get("last-serial", "-1")) >= serial:
                    return False
                condition = {"IfMatch": head["ETag"]}
            else:
                condition = {"IfNoneMatch": "*"}
            try:
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=body,
                    ContentType=content_type,
                    Metadata={"last-serial": str(serial)},
                    **condition,
                )
                return True
            except ClientError as error:
                if error_code(error) not in (
                    "PreconditionFailed",
                    "412",
                    "ConditionalRequestConflict",
                ):
                    raise
        raise RuntimeError(f"could not write {key}: it kept changing")

    def copy(self, source_key: str, dest_key: str) -> None:
        """Server-side copy (multipart for large objects), with a fresh whole-object SHA-256
        checksum: the staged object's is a multipart composite that does not carry over.

        s3transfer's manager is what boto3's ``client.copy`` runs; it is imported here, not
        at start, because only old sessions' publishes and rejected reviews copy."""
        from s3transfer.manager import TransferManager

        with TransferManager(self._client) as manager:
            manager.copy(
                {"Bucket": self._bucket, "Key": source_key},
                self._bucket,
                dest_key,
                extra_args={"ChecksumAlgorithm": "SHA256"},
            ).result()

    def presigned_get(
        self, key: str, *, expires: int, filename: str | None = None, immutable: bool = False
    ) -> str:
        params = {"Bucket": self._bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        if immutable:
            # S3 answers with this header: "private", as the URL is a credential.
            params["ResponseCacheControl"] = IMMUTABLE
        return str(
            self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)
        )

    def put(self, key: str, body: bytes, *, content_type: str, metadata: dict[str, str]) -> None:
        self._client.put_object(
            Bucket=self._bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata
        )
