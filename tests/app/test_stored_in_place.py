"""Bytes are written once, where they are served from: publishing moves none, and nothing
that deletes an upload's bytes (cancel, rejection, expiry, the sweeper) touches a published
file. On moto, counting the S3 calls the app makes."""

from __future__ import annotations

from collections import Counter

import pytest

from chalicelib.domain.layout import STORED_PREFIX
from chalicelib.services.stored_bytes import discard_bytes
from tests.builders import sdist_bytes, wheel_bytes
from tests.conftest import basic
from tests.upload_client import deliver_events, publish, release

pytestmark = pytest.mark.moto  # reads AWS itself

WHEEL = "acme_tools-1.0-py3-none-any.whl"
SDIST = "acme_tools-1.0.tar.gz"


@pytest.fixture
def reader(issue):
    return basic(issue("read"))


@pytest.fixture
def s3_calls(aws):
    """Every S3 operation the app's client sends from now on, by name."""
    calls: Counter[str] = Counter()

    def count(model, **_):
        calls[model.name] += 1

    aws.clients.s3.meta.events.register("before-call.s3", count)
    yield calls
    aws.clients.s3.meta.events.unregister("before-call.s3", count)


def stored(aws) -> dict[str, bytes]:
    listed = aws.clients.s3.list_objects_v2(Bucket=aws.resources.bucket, Prefix=STORED_PREFIX)
    return {
        o["Key"]: aws.clients.s3.get_object(Bucket=aws.resources.bucket, Key=o["Key"])[
            "Body"
        ].read()
        for o in listed.get("Contents", [])
    }


def test_publishing_copies_no_bytes(uploader, http, reader, app_client, aws, s3_calls):
    wheel, sdist = wheel_bytes(), sdist_bytes()
    session = uploader.create()
    uploader.upload(session, WHEEL, wheel)
    uploader.upload(session, SDIST, sdist)
    deliver_events(app_client, aws)
    before = stored(aws)
    assert sorted(k.rsplit("/", 1)[1] for k in before) == sorted(
        [WHEEL, f"{WHEEL}.metadata", SDIST, f"{SDIST}.metadata"]
    )
    s3_calls.clear()
    assert publish(uploader, session).status == 202
    deliver_events(app_client, aws)
    assert uploader.session(session).json["status"] == "published"
    assert s3_calls["CopyObject"] == 0 and s3_calls["UploadPartCopy"] == 0
    assert s3_calls["UploadPart"] == 0 and s3_calls["CreateMultipartUpload"] == 0
    # The same objects, untouched, and the downloads point at them.
    assert stored(aws) == before
    for name in (WHEEL, SDIST):
        location = http.get(f"/files/acme-tools/{name}", headers=reader).headers["Location"]
        [key] = [k for k in before if k.endswith(f"/{name}")]
        assert key in location
    [key] = [k for k in before if k.endswith(f"/{WHEEL}.metadata")]
    assert http.get(f"/files/acme-tools/{WHEEL}.metadata", headers=reader).body == before[key]


def test_cancel_deletes_the_bytes_of_the_canceled_upload_only(uploader, app_client, aws):
    release(uploader, app_client, aws, "acme-tools", "1.0", {WHEEL: wheel_bytes()})
    published = stored(aws)
    session = uploader.create(name="acme-tools", version="2.0")
    kept = uploader.upload(session, "acme_tools-2.0-py3-none-any.whl", wheel_bytes(version="2.0"))
    dropped = uploader.upload(session, "acme_tools-2.0.tar.gz", sdist_bytes(version="2.0"))
    deliver_events(app_client, aws)
    assert len(stored(aws)) == len(published) + 4

    assert uploader.delete_file(dropped).status == 204
    left = set(stored(aws)) - set(published)
    assert sorted(k.rsplit("/", 1)[1] for k in left) == [
        "acme_tools-2.0-py3-none-any.whl",
        "acme_tools-2.0-py3-none-any.whl.metadata",
    ]
    assert uploader.file_status(kept).json["status"] == "completed"
    assert uploader.cancel(session).status == 200
    assert stored(aws) == published


def test_expiry_deletes_unpublished_bytes_and_keeps_published(
    uploader, app_client, aws, wharf, clock
):
    release(uploader, app_client, aws, "acme-tools", "1.0", {WHEEL: wheel_bytes()})
    published = stored(aws)
    session = uploader.create(name="acme-tools", version="2.0")
    uploader.upload(session, "acme_tools-2.0-py3-none-any.whl", wheel_bytes(version="2.0"))
    deliver_events(app_client, aws)
    clock.advance(hours=24 * 30)
    assert wharf.sessions.expire_due() == 1
    assert uploader.session(session).json["status"] == "canceled"
    assert stored(aws) == published
    wharf.repair.run()
    assert stored(aws) == published


def test_no_delete_path_removes_a_published_file(uploader, http, reader, app_client, aws, wharf):
    session = release(uploader, app_client, aws, "acme-tools", "1.0", {WHEEL: wheel_bytes()})
    published = stored(aws)
    token = session.json["session-token"]
    records = wharf.stores.sessions.list_files(token)
    # Whatever sends them (a stray purge, a late rejection, the sweeper), deletes of a
    # published upload's bytes are refused by the catalog check.
    wharf.sessions.purge(token)
    for record in records:
        discard_bytes(wharf.stores.staging, wharf.stores.catalog, "acme-tools", record)
    wharf.repair.run()
    assert stored(aws) == published
    reply = http.get(f"/files/acme-tools/{WHEEL}", headers=reader)
    assert reply.status_code == 302
