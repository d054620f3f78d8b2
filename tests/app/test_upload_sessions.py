"""Upload 2.0 publishing sessions through the app, on moto."""

from __future__ import annotations

import re

import pytest

from tests.upload_client import META, V2, UploadClient, path_of

# Contract-tested fakes (tests/adapters) unless a test reads AWS itself (marked moto).
pytestmark = pytest.mark.memory

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_create_session(uploader):
    created = uploader.create(name="Acme_Tools", version="1.0")
    assert created.status == 201, created
    assert created.headers["Content-Type"] == V2
    body = created.json
    assert body["meta"] == META
    assert set(body["links"]) == {"stage", "upload", "session", "publish", "extend"}
    assert created.headers["Location"] == body["links"]["session"]
    assert body["mechanisms"] == ["vnd-wharf-s3multipart-presigned-v1", "http-post-bytes"]
    assert len(body["session-token"]) >= 22
    assert body["session-token"] in body["links"]["stage"]
    assert RFC3339_Z.match(body["expires-at"])
    assert body["status"] == "open"
    assert body["files"] == {}
    assert body["notices"] == []


def test_second_create_for_the_release_is_409_with_location(uploader, http, issue):
    first = uploader.create(version="1.0")
    again = uploader.create(name="ACME.tools", version="1.0.0")
    assert again.status == 409
    assert again.headers["Location"] == first.json["links"]["session"]
    assert again.headers["Content-Type"] == "application/problem+json"
    outsider = UploadClient(http, issue("upload", ("other-*",)))
    denied = outsider.create(version="1.0")
    assert denied.status == 403
    assert "Location" not in denied.headers
    reader = UploadClient(http, issue("read"))
    assert reader.create(version="1.0").status == 403


def test_new_session_after_cancel_gets_new_urls(uploader):
    first = uploader.create()
    assert uploader.cancel(first).status == 200
    second = uploader.create()
    assert second.status == 201
    for key in ("session", "stage"):
        assert second.json["links"][key] != first.json["links"][key]
    assert second.json["session-token"] != first.json["session-token"]


@pytest.mark.moto  # reads AWS itself
def test_first_release_reserves_the_name_until_cancel(uploader, aws):
    created = uploader.create()
    key = {"PK": {"S": "PROJECT#acme-tools"}, "SK": {"S": "PROJECT"}}
    item = aws.clients.dynamodb.get_item(TableName=aws.resources.table, Key=key)["Item"]
    assert item["state"]["S"] == "reserved"
    uploader.cancel(created)
    assert "Item" not in aws.clients.dynamodb.get_item(TableName=aws.resources.table, Key=key)


def test_name_is_invisible_in_the_index_while_reserved(uploader, http, issue):
    from tests.conftest import basic

    uploader.create()
    root = http.get(
        "/simple/",
        headers={**basic(issue("read")), "Accept": "application/vnd.pypi.simple.v1+json"},
    )
    assert root.status_code == 200
    assert b"acme" not in root.body


def test_status_and_authorization_per_request(uploader, http, issue, wharf):
    created = uploader.create()
    assert uploader.session(created).status == 200
    other = UploadClient(http, issue("upload", ("other",)))
    assert other.session(created).status == 403
    colleague = UploadClient(http, issue("upload", ("acme-tools",)))
    assert colleague.session(created).status == 200
    # Revoke the uploader's token mid-session: its next call is refused.
    token_id = next(t.record.id for t in wharf.tokens.list() if t.record.projects == ("acme-*",))
    wharf.tokens.revoke(token_id)
    assert uploader.session(created).status == 403
    assert colleague.session(created).status == 200


def test_unknown_session_404(uploader):
    reply = uploader.call("GET", "/upload/not-a-session")
    assert reply.status == 404
    assert reply.json["meta"] == META


def test_extend_is_capped_and_never_earlier(uploader, wharf):
    created = uploader.create()
    before = created.json["expires-at"]
    extended = uploader.extend(created, 3600)
    assert extended.status == 200
    assert extended.json["expires-at"] > before
    capped = uploader.extend(created, 10**9)
    assert capped.status == 200
    session = wharf.sessions.load(
        wharf.tokens.authenticate(uploader.secret), created.json["session-token"]
    )
    assert session.expires_at == session.max_expires_at
    again = uploader.extend(created, 60)
    assert again.status == 200 and again.json["expires-at"] == capped.json["expires-at"]


def test_expired_session_answers_canceled_then_404(uploader, clock, wharf, aws):
    created = uploader.create()
    clock.advance(hours=25)
    status = uploader.session(created)
    assert status.status == 200
    assert status.json["status"] == "canceled"
    assert "the session expired" in status.json["notices"]
    # The release is free again, and the reservation was released.
    assert uploader.create().status == 201
    clock.advance(days=8)
    assert uploader.session(created).status == 404


@pytest.mark.moto  # reads AWS itself
def test_sweeper_expires_and_purges(uploader, clock, wharf, aws):
    from tests.builders import wheel_bytes

    created = uploader.create()
    data = wheel_bytes()
    file = uploader.add_file(created, "acme_tools-1.0-py3-none-any.whl", data)
    uploader.send_bytes(file, data)
    clock.advance(hours=25)
    assert wharf.sessions.expire_due() == 1
    assert wharf.sessions.expire_due() == 0
    listed = aws.clients.s3.list_multipart_uploads(Bucket=aws.resources.bucket)
    assert not listed.get("Uploads")
    assert uploader.file_status(file).json["status"] == "canceled"


@pytest.mark.moto  # reads AWS itself
@pytest.mark.parametrize(
    ("body", "content_type", "status", "fragment"),
    [
        (
            {"meta": META, "name": "acme-tools", "version": "1.0"},
            "application/json",
            415,
            "upload.v2",
        ),
        ({"meta": META, "name": "acme-tools", "version": "1.0"}, None, 415, "upload.v2"),
        ({"name": "acme-tools", "version": "1.0"}, V2, 400, "api-version"),
        (
            {"meta": {"api-version": "3.0"}, "name": "acme-tools", "version": "1.0"},
            V2,
            400,
            "api-version",
        ),
        (
            {"meta": {"api-version": 2.0}, "name": "acme-tools", "version": "1.0"},
            V2,
            400,
            "api-version",
        ),
        ({"meta": "2.0", "name": "acme-tools", "version": "1.0"}, V2, 400, "api-version"),
        ({"meta": META, "version": "1.0"}, V2, 400, "name"),
        ({"meta": META, "name": "acme tools!", "version": "1.0"}, V2, 400, "project name"),
        ({"meta": META, "name": "-acme", "version": "1.0"}, V2, 400, "project name"),
        ({"meta": META, "name": 7, "version": "1.0"}, V2, 400, "name"),
        ({"meta": META, "name": "acme-tools"}, V2, 400, "version"),
        ({"meta": META, "name": "acme-tools", "version": "one"}, V2, 400, "PEP 440"),
        ({"meta": META, "name": "acme-tools", "version": "1.0+local"}, V2, 400, "Local versions"),
        ({"meta": META, "name": "acme-tools", "version": ["1.0"]}, V2, 400, "version"),
        ("not json at all", V2, 400, "not valid JSON"),
        ([1, 2, 3], V2, 400, "JSON object"),
    ],
)
def test_bad_session_requests(uploader, wharf, aws, body, content_type, status, fragment):
    import json as _json

    headers = {"Content-Type": content_type} if content_type else {}
    raw = body.encode() if isinstance(body, str) else _json.dumps(body).encode()
    before = aws.clients.dynamodb.scan(TableName=aws.resources.table)["Count"]
    reply = uploader.call("POST", "/upload/", headers=headers, raw=raw)
    assert reply.status == status, reply
    assert reply.headers["Content-Type"] == "application/problem+json"
    problem = reply.json
    assert {"type", "title", "status", "detail", "meta", "errors"} <= set(problem)
    assert problem["meta"] == META
    assert fragment in problem["detail"]
    after = aws.clients.dynamodb.scan(TableName=aws.resources.table)["Count"]
    assert after == before


def test_accept_must_allow_v2(uploader):
    reply = uploader.call(
        "POST",
        "/upload/",
        {"meta": META, "name": "acme-tools", "version": "1.0"},
        headers={"Accept": "text/html"},
    )
    assert reply.status == 406
    ok = uploader.call(
        "POST",
        "/upload/",
        {"meta": META, "name": "acme-tools", "version": "1.0"},
        headers={"Accept": f"{V2}, */*;q=0.1"},
    )
    assert ok.status == 201


def test_unauthenticated_is_401_problem(http):
    reply = http.post("/upload/", headers={"Content-Type": V2}, body=b"{}")
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="wharf"'


def test_unknown_routes_and_methods_are_problems(uploader):
    created = uploader.create()
    session = path_of(created.json["links"]["session"])
    wrong_method = uploader.call("PUT", session)
    assert wrong_method.status == 405
    assert wrong_method.headers["Allow"] == "GET, HEAD, DELETE"
    assert wrong_method.headers["Content-Type"] == "application/problem+json"
    assert uploader.call("PUT", "/upload/").status == 405
    assert uploader.call("GET", f"{session}/nonsense").status == 404
    assert uploader.call("GET", f"{session}/files/x/nonsense").status == 404


def test_index_specific_meta_keys_are_ignored(uploader):
    reply = uploader.call(
        "POST",
        "/upload/",
        {
            "meta": {**META, "_wharf": {"anything": 1}, "_other.org": {}},
            "name": "acme-x",
            "version": "1",
        },
    )
    assert reply.status == 201
