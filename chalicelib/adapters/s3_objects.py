"""Whole small objects in the bucket (the static index pages)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..domain.ports import StoredObject
from .aws_errors import error_code


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

    def put(self, key: str, body: bytes, *, content_type: str, metadata: dict[str, str]) -> None:
        self._client.put_object(
            Bucket=self._bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata
        )
