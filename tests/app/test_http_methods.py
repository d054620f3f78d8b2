"""HEAD is answered wherever GET is; any other method a route lacks is a 405 with Allow,
never the gateway's own 403 (which quotes the Authorization header)."""

from __future__ import annotations

import pytest

from tests.builders import wheel_bytes
from tests.conftest import basic
from tests.upload_client import UploadClient, release

# Contract-tested fakes (tests/adapters): these behaviours need nothing only moto shows.
pytestmark = pytest.mark.memory

JSON = "application/vnd.pypi.simple.v1+json"
WHEEL = "acme_tools-1.0-py3-none-any.whl"


@pytest.fixture
def published(http, issue, app_client, aws):
    uploader = UploadClient(http, issue("upload", ("acme-*",)))
    session = release(uploader, app_client, aws, "acme-tools", "1.0", {WHEEL: wheel_bytes()})
    return session


@pytest.mark.parametrize("accept", [JSON, "text/html"])
@pytest.mark.parametrize("path", ["/simple/", "/simple/acme-tools/"])
def test_head_on_index_pages_is_get_without_the_body(http, admin, published, path, accept):
    headers = {**basic(admin), "Accept": accept}
    got = http.get(path, headers=headers)
    head = http.request("HEAD", path, headers=headers)
    assert got.status_code == head.status_code == 200
    assert head.body == b""
    assert int(head.headers["Content-Length"]) == len(got.body)
    for name in ("Content-Type", "ETag", "Vary", "X-PyPI-Last-Serial", "Cache-Control"):
        assert head.headers[name] == got.headers[name], name
    # A conditional HEAD is answered like a conditional GET.
    again = http.request("HEAD", path, headers={**headers, "If-None-Match": got.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.moto  # a real presigned URL
def test_head_on_files_and_the_stage(http, admin, published):
    head = http.request("HEAD", f"/files/acme-tools/{WHEEL}", headers=basic(admin))
    assert head.status_code == 302
    assert "X-Amz-Signature" in head.headers["Location"]
    assert head.body == b""
    # Small core metadata is answered inline: HEAD gets its headers without the body.
    head = http.request("HEAD", f"/files/acme-tools/{WHEEL}.metadata", headers=basic(admin))
    assert head.status_code == 200 and head.headers["ETag"]
    assert head.body == b""
    stage = published.json["links"]["stage"].split("localhost", 1)[1]
    assert http.request("HEAD", stage).status_code == 404  # published: the stage is gone
    assert http.request("HEAD", "/simple/acme-tools/").status_code == 401


def test_head_on_an_upload_session_reads_it_and_never_cancels(http, issue):
    uploader = UploadClient(http, issue("upload", ("acme-*",)))
    created = uploader.create()
    head = uploader.call("HEAD", created.json["links"]["session"])
    assert head.status == 200 and head.raw == b""
    assert uploader.session(created).json["status"] == "open"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/simple/", "GET, HEAD"),
        ("DELETE", "/simple/acme-tools/", "GET, HEAD"),
        ("PUT", f"/files/acme-tools/{WHEEL}", "GET, HEAD"),
        ("PATCH", "/admin/tokens", "GET, HEAD, POST"),
        ("GET", "/admin/tokens/abc", "DELETE"),
        ("GET", "/admin/projects/acme-tools/yank", "POST"),
        ("POST", "/admin/projects/acme-tools/status", "PUT"),
    ],
)
def test_other_methods_are_405_problems_with_allow(http, admin, method, path, allow):
    reply = http.request(method, path, headers=basic(admin))
    assert reply.status_code == 405
    assert reply.headers["Allow"] == allow
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert admin not in reply.body.decode()


def test_legacy_answers_405_as_text_for_get(http, admin):
    reply = http.get("/legacy/", headers=basic(admin))
    assert reply.status_code == 405
    assert reply.headers["Allow"] == "POST"
    assert admin not in reply.body.decode()
