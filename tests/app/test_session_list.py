"""`GET /upload/` (a wharf extension): the live sessions a token may act on, through the app."""

from __future__ import annotations

import re

import pytest

from chalicelib.api import upload as upload_api
from tests.builders import metadata_text, wheel_bytes
from tests.upload_client import META, V2, UploadClient, deliver_events, publish

# Contract-tested fakes (tests/adapters): these behaviours need nothing only moto shows.
pytestmark = pytest.mark.memory

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
WHEEL = "acme_tools-1.0-py3-none-any.whl"


@pytest.fixture
def acme(http, issue):
    return UploadClient(http, issue("upload", ("acme-*",)))


def listing(client: UploadClient, **headers: str):
    return client.call("GET", "/upload/", headers=headers)


def by_version(reply) -> dict[str, dict]:
    return {s["version"]: s for s in reply.json["sessions"]}


def test_lists_live_sessions_in_the_upload_media_type(acme):
    first = acme.create(version="1.0")
    acme.add_file(first, WHEEL, wheel_bytes())
    second = acme.create(version="2.0")
    reply = listing(acme)
    assert reply.status == 200, reply
    assert reply.headers["Content-Type"] == V2
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.json["meta"] == META
    assert reply.json["truncated"] is False
    sessions = by_version(reply)
    assert set(sessions) == {"1.0", "2.0"}
    one = sessions["1.0"]
    assert one == {
        "name": "acme-tools",
        "version": "1.0",
        "status": "open",
        "session-token": first.json["session-token"],
        "created-at": one["created-at"],
        "expires-at": first.json["expires-at"],
        "created-via": "upload-2.0",
        "file-count": 1,
        "created-by-this-token": True,
        "links": {"session": first.json["links"]["session"]},
    }
    assert RFC3339_Z.match(one["created-at"])
    assert sessions["2.0"]["file-count"] == 0
    assert sessions["2.0"]["session-token"] == second.json["session-token"]


def test_only_projects_the_token_may_upload_to_and_admin_sees_all(acme, http, issue):
    acme.create(version="1.0")
    other = UploadClient(http, issue("upload", ("other-*",)))
    other.create(name="other-lib", version="3.0")
    assert [s["name"] for s in listing(acme).json["sessions"]] == ["acme-tools"]
    assert [s["name"] for s in listing(other).json["sessions"]] == ["other-lib"]
    admin = UploadClient(http, issue("admin"))
    assert sorted(s["name"] for s in listing(admin).json["sessions"]) == [
        "acme-tools",
        "other-lib",
    ]
    # A token that may upload nothing sees nothing (and learns nothing).
    reader = UploadClient(http, issue("read"))
    assert listing(reader).json["sessions"] == []


def test_marks_which_sessions_this_token_created(acme, http, issue):
    acme.create(version="1.0")
    colleague = UploadClient(http, issue("upload", ("acme-tools",)))
    colleague.create(version="2.0")
    sessions = by_version(listing(acme))
    assert sessions["1.0"]["created-by-this-token"] is True
    assert sessions["2.0"]["created-by-this-token"] is False
    assert by_version(listing(colleague))["2.0"]["created-by-this-token"] is True


def test_deleted_files_are_not_counted(acme):
    session = acme.create()
    file = acme.add_file(session, WHEEL, wheel_bytes())
    assert acme.delete_file(file).status == 204
    assert listing(acme).json["sessions"][0]["file-count"] == 0


def test_terminal_and_expired_sessions_are_not_listed(acme, app_client, aws, clock):
    canceled = acme.create(version="1.0")
    acme.cancel(canceled)
    published = acme.create(version="2.0")
    data = wheel_bytes(version="2.0", metadata=metadata_text(version="2.0"))
    acme.upload(published, "acme_tools-2.0-py3-none-any.whl", data)
    deliver_events(app_client, aws)
    assert publish(acme, published).status == 202
    assert by_version(listing(acme))["2.0"]["status"] == "processing"
    deliver_events(app_client, aws)
    assert acme.session(published).json["status"] == "published"
    acme.create(version="3.0")
    assert list(by_version(listing(acme))) == ["3.0"]
    # Past its expiry a session answers canceled at once, before any sweeper ran.
    clock.advance(days=2)
    assert listing(acme).json["sessions"] == []


def test_soonest_expiry_first_and_capped(acme, monkeypatch, clock):
    for minor in range(3):
        acme.create(version=f"1.{minor}")
        clock.advance(seconds=10)
    monkeypatch.setattr(upload_api, "MAX_LISTED_SESSIONS", 2)
    reply = listing(acme)
    assert [s["version"] for s in reply.json["sessions"]] == ["1.0", "1.1"]
    assert reply.json["truncated"] is True


def test_bad_requests(acme, http):
    assert http.get("/upload/").status_code == 401
    refused = listing(acme, Accept="text/html")
    assert refused.status == 406
    assert refused.headers["Content-Type"] == "application/problem+json"
    wrong = acme.call("PUT", "/upload/")
    assert wrong.status == 405
    assert wrong.headers["Allow"] == "GET, HEAD, POST"
