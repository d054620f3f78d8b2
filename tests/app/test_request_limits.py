"""Hostile request bodies and values get a clear 4xx, never a 500, and change nothing."""

from __future__ import annotations

import json

import pytest

from tests.builders import wheel_bytes
from tests.conftest import basic
from tests.upload_client import META, V2

# Contract-tested fakes (tests/adapters) unless a test reads AWS itself (marked moto).
pytestmark = pytest.mark.memory

DEEP = ("[" * 20_000 + "]" * 20_000).encode()  # 40 KB of brackets
DEEP_OBJECT = b'{"meta": {"api-version": "2.0"}, "x": ' + b"[" * 40 + b"]" * 40 + b"}"


def _items(aws) -> list:
    return [
        i
        for i in aws.clients.dynamodb.scan(TableName=aws.resources.table)["Items"]
        if not i["PK"]["S"].startswith(("TOKEN#", "AUDIT"))  # tokens and their audit trail
    ]


@pytest.mark.moto  # reads AWS itself
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["brackets", "nested-field"])
def test_deeply_nested_json_is_400_everywhere(http, admin, uploader, aws, body):
    session = uploader.create()
    targets = [
        ("POST", "/upload/", V2, basic(uploader.secret)),
        ("POST", session.json["links"]["upload"].split("localhost", 1)[1], V2, None),
        ("POST", session.json["links"]["extend"].split("localhost", 1)[1], V2, None),
        ("POST", "/admin/tokens", "application/json", basic(admin)),
        ("POST", "/admin/projects/acme-tools/yank", "application/json", basic(admin)),
        ("PUT", "/admin/projects/acme-tools/status", "application/json", basic(admin)),
    ]
    before = _items(aws)
    for method, path, content_type, auth in targets:
        headers = {**(auth or basic(uploader.secret)), "Content-Type": content_type}
        reply = http.request(method, path, headers=headers, body=body)
        assert reply.status_code == 400, (path, reply.body[:200])
        assert reply.headers["Content-Type"] == "application/problem+json"
        assert "nests deeper" in json.loads(reply.body)["detail"], path
    assert _items(aws) == before


@pytest.mark.parametrize("seconds", [10**12, 10**15, 2**63])
def test_huge_extend_for_is_capped_not_500(uploader, seconds):
    session = uploader.create()
    reply = uploader.extend(session, seconds)
    assert reply.status == 200, reply
    # Capped at the session's maximum lifetime (7 days from creation).
    assert reply.json["expires-at"] == "2001-01-08T12:00:00Z"


@pytest.mark.moto  # reads AWS itself
@pytest.mark.parametrize(
    ("name", "status"),
    [(f"acme-{'a' * n}", status) for n, status in [(195, 201), (196, 400), (2035, 400)]]
    + [("a" * 100_000, 413)],
)
def test_project_name_length_is_bounded(uploader, aws, name, status):
    reply = uploader.call("POST", "/upload/", {"meta": META, "name": name, "version": "1.0"})
    assert reply.status == status, reply
    if status != 201:
        assert reply.json["status"] == status
        assert _items(aws) == []


@pytest.mark.moto  # reads AWS itself
def test_version_length_is_bounded(uploader, aws):
    version = "1." + "0" * 127
    reply = uploader.call("POST", "/upload/", {"meta": META, "name": "acme-x", "version": version})
    assert reply.status == 400
    assert "at most 128" in reply.json["detail"]
    assert _items(aws) == []


def test_file_upload_with_deep_hashes_is_400(uploader):
    session = uploader.create()
    data = wheel_bytes()
    hashes: object = "x"
    for _ in range(30):
        hashes = {"sha256": hashes}
    reply = uploader.add_file(session, "acme_tools-1.0-py3-none-any.whl", data, hashes=hashes)
    assert reply.status == 400
