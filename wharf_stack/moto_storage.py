"""Keep moto's S3 from holding on to bytes that S3 itself would have let go.

moto spools every object and every multipart part to a temporary file. After
CompleteMultipartUpload it keeps the parts alive (the new object refers to its
upload), so a 600 MiB upload held 1.2 GiB of temporary files until the stack stopped,
and a few large uploads filled a laptop's disk. S3 has no such copy: the parts become
the object. Applied by the local stack and the test suite.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote


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


_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def ranged_reads(app: Any) -> Any:
    """WSGI middleware: answer a ranged GET of an object by reading only that range.

    moto reads the whole object (and copies it) to serve any range, so the validator's
    ranged reads of a 512 MiB upload cost gigabytes of reads. Only the plain case is
    answered here (path-style, one ``bytes=a-b`` range, an optional ``If-Match`` that
    holds); everything else goes to moto as before.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import FakeKey, s3_backends

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        match = _RANGE.match(environ.get("HTTP_RANGE", ""))
        query = environ.get("QUERY_STRING", "")
        path = environ.get("PATH_INFO", "").lstrip("/")
        if environ.get("REQUEST_METHOD") != "GET" or not match or "/" not in path:
            return app(environ, start_response)
        if query not in ("", "x-id=GetObject"):
            return app(environ, start_response)
        bucket_name, key_name = path.split("/", 1)
        try:
            bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket(bucket_name)
            key = bucket.keys.get(unquote(key_name))
        except Exception:  # unknown bucket: let moto say so
            return app(environ, start_response)
        if not isinstance(key, FakeKey):
            return app(environ, start_response)
        wanted = environ.get("HTTP_IF_MATCH")
        if wanted and wanted.strip('"') != key.etag.strip('"'):
            return app(environ, start_response)
        size = key.size
        begin = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        if begin > end:
            return app(environ, start_response)
        with key.lock:
            key._value_buffer.seek(begin)
            data = key._value_buffer.read(end - begin + 1)
        headers = {
            **{k: v for k, v in key.response_dict.items() if k.lower() != "content-length"},
            **{k: v for k, v in key.metadata.items() if k.lower() == "content-type"},
            "Content-Length": str(len(data)),
            "Content-Range": f"bytes {begin}-{end}/{size}",
            "Accept-Ranges": "bytes",
        }
        start_response("206 Partial Content", list(headers.items()))
        return [data]

    return middleware
