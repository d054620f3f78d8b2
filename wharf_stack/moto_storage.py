"""Keep moto's S3 from holding on to bytes that S3 itself would have let go.

moto spools every object and every multipart part to a temporary file. After
CompleteMultipartUpload it keeps the parts alive (the new object refers to its
upload), so a 600 MiB upload held 1.2 GiB of temporary files until the stack stopped,
and a few large uploads filled a laptop's disk. S3 has no such copy: the parts become
the object. Applied by the local stack and the test suite.
"""

from __future__ import annotations

from typing import Any


def free_parts_after_completion() -> None:
    from moto.s3.models import S3Backend

    original = S3Backend.complete_multipart_upload
    if getattr(original, "_wharf_patched", False):
        return

    def complete_multipart_upload(self: Any, bucket_name: str, multipart_id: str, body: Any):
        multipart = self.get_bucket(bucket_name).multiparts.get(multipart_id)
        key = original(self, bucket_name, multipart_id, body)
        if key is not None and multipart is not None:
            for part in multipart.parts.values():
                part.dispose()
        return key

    complete_multipart_upload._wharf_patched = True  # type: ignore[attr-defined]
    S3Backend.complete_multipart_upload = complete_multipart_upload  # type: ignore[method-assign]


def apply() -> None:
    free_parts_after_completion()
