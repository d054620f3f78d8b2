"""The validator reads an S3 object once: hashing and inspecting share one read (moto)."""

from __future__ import annotations

import hashlib
import os
import zipfile

import pytest
from packaging.version import Version

from chalicelib.adapters.s3_source import S3Source
from chalicelib.domain.inspection.limits import Limits
from chalicelib.domain.inspection.verdict import validate_distribution
from chalicelib.domain.layout import stored_key
from tests.builders import wheel_bytes

WHEEL = "acme_tools-1.0-py3-none-any.whl"
PART = 5 * 1024 * 1024  # S3's smallest part but the last


@pytest.fixture
def bytes_read(aws):
    """Bytes of object data S3 answered GetObject with, from now on."""
    total = {"bytes": 0, "gets": 0}

    def count(parsed, **_):
        total["bytes"] += int(parsed.get("ContentLength", 0))
        total["gets"] += 1

    aws.clients.s3.meta.events.register("after-call.s3.GetObject", count)
    yield total
    aws.clients.s3.meta.events.unregister("after-call.s3.GetObject", count)


def multipart_wheel(aws) -> tuple[str, bytes, str]:
    """A 13 MiB wheel (incompressible member) stored as a three-part multipart object."""
    data = wheel_bytes(
        files={"acme_tools/blob.bin": os.urandom(13 * 1024 * 1024)},
        compression=zipfile.ZIP_STORED,
    )
    s3, bucket, key = aws.clients.s3, aws.resources.bucket, stored_key("fid", WHEEL)
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for number, start in enumerate(range(0, len(data), PART), start=1):
        etag = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload,
            PartNumber=number,
            Body=data[start : start + PART],
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    assert len(parts) == 3
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
    )
    return key, data, s3.head_object(Bucket=bucket, Key=key)["ETag"]


def validate(source, data: bytes):
    return validate_distribution(
        source,
        filename=WHEEL,
        project="acme-tools",
        version=Version("1.0"),
        declared_size=len(data),
        declared_hashes={"sha256": hashlib.sha256(data).hexdigest()},
        limits=Limits(),
    )


@pytest.mark.parametrize("block", [1024 * 1024, 8 * 1024 * 1024])
def test_validation_reads_each_byte_of_a_multipart_object_once(aws, bytes_read, block):
    key, data, etag = multipart_wheel(aws)
    source = S3Source(aws.clients.s3, aws.resources.bucket, key, len(data), etag, block=block)
    verdict = validate(source, data)
    source.close()
    assert verdict.ok, verdict.notices
    assert verdict.digests["sha256"] == hashlib.sha256(data).hexdigest()
    assert bytes_read["bytes"] == len(data)
    assert bytes_read["gets"] == -(-len(data) // block)  # ranged GETs, fetched in parallel


def test_a_file_too_large_to_spool_is_read_once_through_ranges(aws, bytes_read):
    key, data, etag = multipart_wheel(aws)
    source = S3Source(aws.clients.s3, aws.resources.bucket, key, len(data), etag, spool_limit=0)
    verdict = validate(source, data)
    assert verdict.ok, verdict.notices
    assert verdict.digests["sha256"] == hashlib.sha256(data).hexdigest()
    # One pass, hashed as the archive's reads go by: the members' bytes in windows fetched
    # ahead, the headers and the central directory in small probes.
    assert len(data) < bytes_read["bytes"] <= len(data) + 8 * 64 * 1024
    assert bytes_read["gets"] <= -(-len(data) // (8 * 1024 * 1024)) + 8


def test_reading_on_from_where_the_last_read_ended_fetches_ahead_in_windows(aws, bytes_read):
    key, data, etag = multipart_wheel(aws)
    block = 1024 * 1024
    source = S3Source(aws.clients.s3, aws.resources.bucket, key, len(data), etag, block=block)
    with source.random_access() as archive:
        archive.seek(100)
        read = b"".join(iter(lambda: archive.read(256 * 1024), b""))
    assert read == data[100:]
    # One probe where the reading began, then each window once.
    assert bytes_read["gets"] <= 1 + -(-len(data) // block)
    assert bytes_read["bytes"] <= len(data) + 64 * 1024


def test_a_read_away_from_the_last_fetches_only_a_little(aws, bytes_read):
    key, data, etag = multipart_wheel(aws)
    source = S3Source(aws.clients.s3, aws.resources.bucket, key, len(data), etag)
    with source.random_access() as archive:
        for position in (len(data) - 22, 1000, 5 * 1024 * 1024):
            archive.seek(position)
            assert archive.read(30) == data[position : position + 30]
    assert bytes_read["gets"] == 3
    assert bytes_read["bytes"] <= 3 * 64 * 1024


def test_a_changed_object_is_a_storage_error(aws):
    from chalicelib.domain.ports import StorageReadError

    key, data, _ = multipart_wheel(aws)
    source = S3Source(aws.clients.s3, aws.resources.bucket, key, len(data), '"not-the-etag"')
    with pytest.raises(StorageReadError), source.stream() as stream:
        stream.read()


def test_a_timeout_reading_a_window_is_a_storage_error_not_a_corrupt_file(aws):
    """Once botocore's retries are spent, a timeout is S3's failure: the event is retried,
    the file is not refused as a broken archive (a ReadTimeoutError is an OSError too)."""
    from botocore.exceptions import ReadTimeoutError

    from chalicelib.domain.ports import StorageReadError

    key, data, etag = multipart_wheel(aws)
    block = 1024 * 1024
    gets = {"n": 0}

    def time_out_the_archive_pass(params, **_):
        gets["n"] += 1
        if gets["n"] > 3:  # once the pass is under way
            raise ReadTimeoutError(endpoint_url="http://s3")

    s3 = aws.clients.s3
    s3.meta.events.register("before-call.s3.GetObject", time_out_the_archive_pass)
    try:
        with pytest.raises(StorageReadError):
            validate(
                S3Source(
                    s3, aws.resources.bucket, key, len(data), etag, spool_limit=0, block=block
                ),
                data,
            )
    finally:
        s3.meta.events.unregister("before-call.s3.GetObject", time_out_the_archive_pass)


def test_small_reads_after_a_jump_come_from_its_probe(aws, bytes_read):
    """A header walk: a jump, then the header's fields and name read a few bytes at a time."""
    key, data, etag = multipart_wheel(aws)
    source = S3Source(aws.clients.s3, aws.resources.bucket, key, len(data), etag, spool_limit=0)
    with source.random_access() as archive:
        archive.seek(3 * 1024 * 1024)
        pieces = [archive.read(size) for size in (30, 12, 0, 40, 1000, 30)]
    start = 3 * 1024 * 1024
    assert b"".join(pieces) == data[start : start + 1112]
    assert bytes_read["gets"] == 1
    assert bytes_read["bytes"] == 64 * 1024


def test_a_read_across_many_windows_is_whole(aws, bytes_read):
    """A central directory or a long read spans windows: one answer, in one buffer."""
    key, data, etag = multipart_wheel(aws)
    block = 1024 * 1024
    source = S3Source(aws.clients.s3, aws.resources.bucket, key, len(data), etag, block=block)
    with source.random_access() as archive:
        archive.seek(500_000)
        got = archive.read(5 * block + 123)
        rest = archive.read()
    assert bytes(got) == data[500_000 : 500_000 + 5 * block + 123]
    assert bytes(rest) == data[500_000 + 5 * block + 123 :]
    assert bytes_read["bytes"] <= len(data) + 64 * 1024
