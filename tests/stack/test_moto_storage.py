"""The local stack's moto answers ranged reads from the range alone, byte for byte as S3
does, and lets go of multipart parts once their upload completes."""

from __future__ import annotations

import os

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from wharf_stack.moto_process import _moto_server


@pytest.fixture(scope="module")
def s3():
    server = _moto_server("127.0.0.1", 0)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="wharf-local",
        aws_secret_access_key="wharf-local",
        config=Config(signature_version="s3v4"),
    )
    client.create_bucket(Bucket="ranges")
    client.put_bucket_versioning(Bucket="ranges", VersioningConfiguration={"Status": "Enabled"})
    yield client
    server.stop()


def test_ranged_reads_match_the_bytes(s3):
    data = os.urandom(3 * 1024 * 1024 + 17)
    etag = s3.put_object(Bucket="ranges", Key="dir/some file.bin", Body=data)["ETag"]
    for begin, end in [(0, 0), (5, 99), (1024 * 1024, 2 * 1024 * 1024 - 1), (len(data) - 3, None)]:
        spec = f"bytes={begin}-{'' if end is None else end}"
        got = s3.get_object(Bucket="ranges", Key="dir/some file.bin", Range=spec, IfMatch=etag)
        stop = len(data) - 1 if end is None else end
        assert got["Body"].read() == data[begin : stop + 1], spec
        assert got["ContentRange"] == f"bytes {begin}-{stop}/{len(data)}"
        assert got["ETag"] == etag
    past = s3.get_object(Bucket="ranges", Key="dir/some file.bin", Range="bytes=10-999999999")
    assert past["Body"].read() == data[10:]


def test_a_changed_object_fails_if_match(s3):
    s3.put_object(Bucket="ranges", Key="k", Body=b"first")
    old = s3.head_object(Bucket="ranges", Key="k")["ETag"]
    s3.put_object(Bucket="ranges", Key="k", Body=b"second")
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="ranges", Key="k", Range="bytes=0-1", IfMatch=old)
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_a_deleted_object_is_404_not_a_stale_range(s3):
    s3.put_object(Bucket="ranges", Key="gone", Body=b"bytes")
    s3.delete_object(Bucket="ranges", Key="gone")
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="ranges", Key="gone", Range="bytes=0-1")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_parts_are_released_after_completion(s3):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    part = os.urandom(5 * 1024 * 1024)
    upload = s3.create_multipart_upload(Bucket="ranges", Key="big")
    bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket("ranges")
    multipart = bucket.multiparts[upload["UploadId"]]
    etags = [
        s3.upload_part(
            Bucket="ranges", Key="big", UploadId=upload["UploadId"], PartNumber=n, Body=part
        )["ETag"]
        for n in (1, 2)
    ]
    s3.complete_multipart_upload(
        Bucket="ranges",
        Key="big",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )
    assert all(p.disposed for p in multipart.parts.values())
    assert s3.get_object(Bucket="ranges", Key="big")["Body"].read() == part * 2
