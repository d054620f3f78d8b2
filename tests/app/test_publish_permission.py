"""Upload separate from publish (issue 15): an upload-only token stages, a publish token
publishes; a refusal is 403 naming the permission and changes nothing."""

from __future__ import annotations

import json

import pytest

from tests.app.test_legacy import post as legacy_post
from tests.builders import wheel_bytes
from tests.conftest import basic
from tests.upload_client import UploadClient, deliver_events, publish

pytestmark = pytest.mark.memory

WHEEL = "acme_tools-1.0-py3-none-any.whl"
JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def stager(http, issue):
    return UploadClient(http, issue("upload", ("acme-*",), publish=False))


@pytest.fixture
def releaser(http, issue):
    return UploadClient(http, issue("upload", ("acme-*",)))


def staged(client, app_client, aws):
    session = client.create()
    assert session.status == 201, session
    client.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    return session


def assert_missing_publish(reply):
    assert reply.status == 403, reply
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert reply.json["type"] == "urn:wharf:problem:missing-permission"
    assert "'publish' permission" in reply.json["detail"]
    assert reply.json["errors"] == [
        {"source": "permission", "code": "missing-permission", "message": "publish"}
    ]


def test_upload_only_token_stages_but_may_not_publish(stager, releaser, app_client, aws, http):
    session = staged(stager, app_client, aws)
    assert_missing_publish(publish(stager, session))
    after = stager.session(session)
    assert after.json["status"] == "open"
    assert after.json["files"][WHEEL]["status"] == "completed"
    assert deliver_events(app_client, aws) == 0  # no publish request was written

    assert publish(releaser, session).status == 202
    deliver_events(app_client, aws)
    assert releaser.session(session).json["status"] == "published"


def test_upload_only_token_may_not_cancel_unless_the_project_allows_its_own(
    stager, releaser, app_client, aws, http, admin, issue
):
    first = staged(stager, app_client, aws)
    assert publish(releaser, first).status == 202
    deliver_events(app_client, aws)  # the project now exists
    second = stager.create(version="2.0")
    assert_missing_publish(stager.cancel(second))
    assert stager.session(second).json["status"] == "open"

    allow = http.put(
        "/admin/projects/acme-tools/settings",
        headers={**basic(admin), "Content-Type": "application/json"},
        body=json.dumps({"uploaders_cancel_own": True}).encode(),
    )
    assert allow.status_code == 200, allow.body
    assert json.loads(allow.body) == {"project": "acme-tools", "uploaders_cancel_own": True}
    # Another upload-only token's session stays protected.
    other = UploadClient(http, issue("upload", ("acme-*",), publish=False))
    assert_missing_publish(other.cancel(second))
    assert stager.cancel(second).json["status"] == "canceled"


def test_project_settings_are_admin_only_and_validated(http, admin, issue):
    def put(secret, body, project="acme-tools"):
        return http.put(
            f"/admin/projects/{project}/settings",
            headers={**basic(secret), "Content-Type": "application/json"},
            body=json.dumps(body).encode(),
        )

    assert put(issue("upload", ("acme-*",)), {"uploaders_cancel_own": True}).status_code == 403
    assert put(admin, {"uploaders_cancel_own": "yes"}).status_code == 400
    assert put(admin, {"uploaders_cancel_own": True, "x": 1}).status_code == 400
    assert put(admin, {"uploaders_cancel_own": True}, "never-used").status_code == 404


def test_legacy_upload_without_staging_needs_publish(http, issue):
    secret = issue("upload", ("acme-*",), publish=False)
    refused = legacy_post(http, secret, wheel_bytes())
    assert refused.status_code == 403
    assert b"'publish' permission" in refused.body
    page = http.get("/simple/acme-tools/", headers={**basic(issue("read")), "Accept": JSON})
    assert page.status_code == 404

    staged_reply = legacy_post(http, secret, wheel_bytes(), staged="true")
    assert staged_reply.status_code == 200, staged_reply.body
    assert json.loads(staged_reply.body)["status"] == "open"


def test_tokens_show_their_permissions_and_old_tokens_keep_publish(http, admin, wharf):
    def create(body):
        return http.post(
            "/admin/tokens",
            headers={**basic(admin), "Content-Type": "application/json"},
            body=json.dumps(body).encode(),
        )

    upload_only = create({"role": "upload", "projects": ["acme"], "publish": False})
    assert upload_only.status_code == 201
    assert json.loads(upload_only.body)["permissions"] == ["upload"]
    both = json.loads(create({"role": "upload", "projects": ["acme"]}).body)
    assert both["permissions"] == ["upload", "publish"]
    assert create({"role": "read", "publish": False}).status_code == 400
    assert create({"role": "admin", "publish": False}).status_code == 400
    listed = json.loads(http.get("/admin/tokens", headers=basic(admin)).body)["tokens"]
    assert sorted(tuple(t["permissions"]) for t in listed) == [
        ("upload",),
        ("upload", "publish"),
        ("upload", "publish"),  # the admin
    ]
