"""The vnd-wharf-s3multipart-presigned-v1 mechanism through the app, on moto."""

from __future__ import annotations

import pytest
import requests

from chalicelib.domain import multipart
from tests.builders import sha256, wheel_bytes
from tests.upload_client import META, deliver_events

# Contract-tested fakes (tests/adapters) unless a test reads AWS itself (marked moto).
pytestmark = pytest.mark.memory

WHEEL = "acme_tools-1.0-py3-none-any.whl"
MiB = 1024 * 1024


def big_wheel() -> bytes:
    import os

    return wheel_bytes(files={"acme_tools/blob.bin": os.urandom(12 * MiB)})


def start(uploader, session, data, **meta):
    body = {
        "meta": {**META, **meta},
        "filename": WHEEL,
        "size": len(data),
        "hashes": {"sha256": sha256(data)},
        "mechanism": multipart.MECHANISM,
    }
    return uploader.call("POST", session.json["links"]["upload"], body)


def ask(uploader, file, numbers):
    return uploader.call(
        "POST", file.json["mechanism"]["parts_url"], {"meta": META, "parts": numbers}
    )


def put_parts(aws, urls: dict[str, str], data: bytes, part_size: int) -> None:
    """PUT parts to their presigned URLs through moto's S3 (in-process: via botocore)."""
    for number, url in urls.items():
        n = int(number)
        chunk = data[(n - 1) * part_size : n * part_size]
        # In-process moto intercepts botocore, not plain HTTP: replay the presigned request.
        from urllib.parse import parse_qs, urlparse

        query = parse_qs(urlparse(url).query)
        aws.clients.s3.upload_part(
            Bucket=aws.resources.bucket,
            Key=urlparse(url).path.split("/", 2)[2],
            UploadId=query["uploadId"][0],
            PartNumber=int(query["partNumber"][0]),
            Body=chunk,
        )


def test_mechanism_map_and_part_size_bounds(uploader):
    session = uploader.create()
    assert session.json["mechanisms"][0] == multipart.MECHANISM
    data = big_wheel()
    file = start(uploader, session, data, _wharf={"part-size": 1})
    assert file.status == 202, file
    mechanism = file.json["mechanism"]
    assert mechanism["identifier"] == multipart.MECHANISM
    assert mechanism["part_size"] == 5 * MiB  # a tiny hint is raised to S3's floor
    assert mechanism["part_count"] == -(-len(data) // (5 * MiB))
    assert mechanism["parts_url"].endswith("/parts")
    assert multipart.choose_part_size(10**12) >= 10**12 // 10_000
    assert multipart.choose_part_size(100, 8 * MiB) == 8 * MiB


@pytest.mark.moto  # reads AWS itself
def test_presigned_parts_resume_and_complete(uploader, app_client, aws):
    session = uploader.create()
    data = big_wheel()
    file = start(uploader, session, data, _wharf={"part-size": 5 * MiB})
    count = file.json["mechanism"]["part_count"]
    first = ask(uploader, file, [1])
    assert first.status == 200
    assert set(first.json["urls"]) == {"1"}
    assert "X-Amz-Signature" in first.json["urls"]["1"]
    put_parts(aws, first.json["urls"], data, 5 * MiB)
    # Resume: the listing says what S3 already holds; progress shows on the status.
    resumed = ask(uploader, file, list(range(2, count + 1)))
    assert [p["number"] for p in resumed.json["parts"]] == [1]
    status = uploader.file_status(file).json["mechanism"]
    assert status["received_parts"] == 1 and status["received_bytes"] == 5 * MiB
    put_parts(aws, resumed.json["urls"], data, 5 * MiB)
    assert uploader.complete(file).status == 202
    deliver_events(app_client, aws)
    assert uploader.file_status(file).json["status"] == "completed"


@pytest.mark.moto  # reads AWS itself
def test_gap_fails_into_error_naming_parts(uploader, aws):
    session = uploader.create()
    data = big_wheel()
    file = start(uploader, session, data, _wharf={"part-size": 5 * MiB})
    urls = ask(uploader, file, [1, 3]).json["urls"]
    put_parts(aws, urls, data, 5 * MiB)
    done = uploader.complete(file)
    assert done.status == 400
    status = uploader.file_status(file).json
    assert status["status"] == "error"
    assert status["notices"] == ["parts missing: 2"]


def test_bad_part_numbers_and_wrong_mechanism(uploader):
    session = uploader.create()
    data = big_wheel()
    file = start(uploader, session, data)
    assert ask(uploader, file, [0]).status == 400
    assert ask(uploader, file, [99]).status == 400
    assert (
        uploader.call(
            "POST", file.json["mechanism"]["parts_url"], {"meta": META, "parts": "1"}
        ).status
        == 400
    )
    small = uploader.add_file(session, "acme_tools-1.0.tar.gz", b"x" * 10)
    parts_url = small.json["links"]["file-upload-session"] + "/parts"
    assert uploader.call("GET", parts_url).status == 409


@pytest.mark.moto  # reads AWS itself
def test_cancel_aborts_the_multipart_upload(uploader, aws):
    session = uploader.create()
    file = start(uploader, session, big_wheel())
    assert aws.clients.s3.list_multipart_uploads(Bucket=aws.resources.bucket).get("Uploads")
    uploader.delete_file(file)
    assert not aws.clients.s3.list_multipart_uploads(Bucket=aws.resources.bucket).get("Uploads")
    assert requests  # the e2e tests PUT to the presigned URLs over real HTTP
