"""The bad-input corpus: each input gets a clear 4xx (or a file error notice), never a 5xx,
and leaves nothing in S3 or DynamoDB that a later request could see."""

from __future__ import annotations

import json

import pytest

from tests.builders import sha256, wheel_bytes
from tests.unit.test_validation import SDIST_CASES, WHEEL_CASES
from tests.upload_client import META, UploadClient, deliver_events

# Contract-tested fakes (tests/adapters) unless a test reads AWS itself (marked moto).
pytestmark = pytest.mark.memory

WHEEL = "acme_tools-1.0-py3-none-any.whl"
DATA = wheel_bytes()
GOOD = {
    "meta": META,
    "filename": WHEEL,
    "size": len(DATA),
    "hashes": {"sha256": sha256(DATA)},
    "mechanism": "http-post-bytes",
}


def snapshot(aws) -> tuple[list, list, list]:
    """Everything a later request could see: table items (less token bookkeeping) and bucket."""
    if not hasattr(aws, "clients"):
        return _memory_snapshot(aws)
    items = [
        i
        for i in aws.clients.dynamodb.scan(TableName=aws.resources.table)["Items"]
        if not i["PK"]["S"].startswith(("TOKEN#", "AUDIT"))  # tokens and their audit trail
    ]
    for item in items:
        item.pop("revision", None)
    s3 = aws.clients.s3
    objects = s3.list_object_versions(Bucket=aws.resources.bucket).get("Versions", [])
    uploads = s3.list_multipart_uploads(Bucket=aws.resources.bucket).get("Uploads", [])
    return (
        sorted(json.dumps(i, sort_keys=True) for i in items),
        sorted(o["Key"] for o in objects),
        sorted(u["Key"] for u in uploads),
    )


def _memory_snapshot(world) -> tuple[list, list, list]:
    """The same view of the fakes: every record they hold (sessions less their revision)."""
    memory = world.memory
    state = {
        name: value for name, value in vars(memory).items() if name not in ("lock", "sessions")
    }
    state["sessions"] = {
        token: session.model_copy(update={"revision": 0})
        for token, session in memory.sessions.items()
    }
    return (
        [repr(sorted((name, repr(value)) for name, value in state.items()))],
        sorted(world.bucket.objects),
        sorted(key for key, _ in world.bucket.uploads.values()),
    )


@pytest.fixture
def session(uploader):
    return uploader.create()


FILE_CASES = {
    "filename missing": ({"filename": None}, 400),
    "filename not a string": ({"filename": 42}, 400),
    "bz2 sdist (PEP 527)": ({"filename": "acme_tools-1.0.tar.bz2"}, 400),
    "egg": ({"filename": "acme_tools-1.0-py3.11.egg"}, 400),
    "other project": ({"filename": "other-1.0-py3-none-any.whl"}, 400),
    "other version": ({"filename": "acme_tools-2.0-py3-none-any.whl"}, 400),
    "unnormalised name of another project": ({"filename": "Acme.Other-1.0-py3-none-any.whl"}, 400),
    "old-style sdist of another version": ({"filename": "acme-tools-2.0.tar.gz"}, 400),
    "zip sdist of another project": ({"filename": "other-1.0.zip"}, 400),
    "local version": ({"filename": "acme_tools-1.0+evil-py3-none-any.whl"}, 400),
    "path in filename": ({"filename": "../acme_tools-1.0-py3-none-any.whl"}, 400),
    "control character": ({"filename": "acme_tools-1.0-py3-none-any\n.whl"}, 400),
    "unknown platform": ({"filename": "acme_tools-1.0-py3-none-amiga.whl"}, 400),
    "size zero": ({"size": 0}, 400),
    "size negative": ({"size": -5}, 400),
    "size string": ({"size": "100"}, 400),
    "size boolean": ({"size": True}, 400),
    "size float": ({"size": 1.5}, 400),
    "size over the file cap": ({"size": 10**15}, 409),
    "hashes missing": ({"hashes": None}, 400),
    "hashes empty": ({"hashes": {}}, 400),
    "hashes a list": ({"hashes": ["sha256"]}, 400),
    "md5 only": ({"hashes": {"md5": "0" * 32}}, 400),
    "sha1 only": ({"hashes": {"sha1": "0" * 40}}, 400),
    "bad hex": ({"hashes": {"sha256": "z" * 64}}, 400),
    "short digest": ({"hashes": {"sha256": "ab"}}, 400),
    "unknown algorithm": ({"hashes": {"whirlpool": "0" * 128}}, 400),
    "shake needs a length": ({"hashes": {"shake_128": "0" * 32, "sha256": "0" * 64}}, 400),
    "digest not a string": ({"hashes": {"sha256": 5}}, 400),
    "mechanism missing": ({"mechanism": None}, 400),
    "mechanism unsupported": ({"mechanism": "ftp-upload"}, 422),
    "mechanism another vendor's": ({"mechanism": "vnd-pypi-s3multipart-presigned"}, 422),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_bad_file_requests(uploader, session, aws, case):
    changes, status = FILE_CASES[case]
    body = {**GOOD, **changes}
    body = {k: v for k, v in body.items() if v is not None}
    before = snapshot(aws)
    reply = uploader.call("POST", session.json["links"]["upload"], body)
    assert reply.status == status, reply
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert reply.json["status"] == status and reply.json["detail"]
    assert snapshot(aws) == before


@pytest.mark.moto  # reads AWS itself
def test_published_filename_is_409(uploader, session, aws):
    aws.clients.dynamodb.put_item(
        TableName=aws.resources.table,
        Item={"PK": {"S": f"FILENAME#{WHEEL}"}, "SK": {"S": "FILENAME"}},
    )
    before = snapshot(aws)
    assert uploader.call("POST", session.json["links"]["upload"], GOOD).status == 409
    assert snapshot(aws) == before


def test_wrong_projects_token_is_403(session, http, issue, aws):
    stranger = UploadClient(http, issue("upload", ("other-*",)))
    before = snapshot(aws)
    assert stranger.call("POST", session.json["links"]["upload"], GOOD).status == 403
    assert snapshot(aws) == before


def test_expired_session_is_404(uploader, session, clock, aws):
    clock.advance(days=2)
    assert uploader.call("POST", session.json["links"]["upload"], GOOD).status == 404


def test_oversized_json_is_413(uploader, session, aws):
    before = snapshot(aws)
    body = {**GOOD, "padding": "x" * 100_000}
    assert uploader.call("POST", session.json["links"]["upload"], body).status == 413
    assert snapshot(aws) == before


ARCHIVE_CASES = {
    **{f"wheel: {k}": (WHEEL, v[0], v[2]) for k, v in WHEEL_CASES.items() if not v[1]},
    **{f"sdist: {k}": ("acme_tools-1.0.tar.gz", v[0], v[1]) for k, v in SDIST_CASES.items()},
}


@pytest.mark.parametrize("case", sorted(ARCHIVE_CASES))
def test_archive_attacks_end_in_error_and_leave_nothing(
    uploader, session, app_client, aws, rebuild, case
):
    rebuild(compression_ratio_floor_bytes=1024 * 1024, max_archive_members=50)
    filename, data, fragment = ARCHIVE_CASES[case]
    before = snapshot(aws)
    file = uploader.upload(session, filename, data)
    deliver_events(app_client, aws)
    status = uploader.file_status(file).json
    assert status["status"] == "error"
    assert fragment.lower() in " | ".join(status["notices"]).lower(), status["notices"]
    assert uploader.delete_file(file).status == 204
    assert snapshot(aws)[1:] == before[1:]  # no bytes or multipart uploads left behind
