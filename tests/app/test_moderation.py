"""Yanking (PEP 592) and project status (PEP 792) through the admin API."""

from __future__ import annotations

import json

import pytest

from tests.builders import metadata_text, wheel_bytes
from tests.conftest import basic
from tests.upload_client import UploadClient, release

# Contract-tested fakes (tests/adapters): these behaviours need nothing only moto shows.
pytestmark = pytest.mark.memory

JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def published(http, issue, app_client, aws):
    uploader = UploadClient(http, issue("upload", ("acme-*",)))
    for version in ("1.0", "1.1"):
        data = wheel_bytes(version=version, metadata=metadata_text(version=version))
        release(
            uploader,
            app_client,
            aws,
            "acme-tools",
            version,
            {f"acme_tools-{version}-py3-none-any.whl": data},
        )
    return basic(issue("read"))


def admin_call(http, admin, method, path, body):
    return http.request(
        method,
        path,
        headers={**basic(admin), "Content-Type": "application/json"},
        body=json.dumps(body).encode(),
    )


def files(http, reader):
    doc = json.loads(http.get("/simple/acme-tools/", headers={**reader, "Accept": JSON}).body)
    return doc, {f["filename"]: f for f in doc["files"]}


def test_yank_a_version_with_reason_then_unyank(http, admin, published):
    before, _ = files(http, published)
    reply = admin_call(
        http,
        admin,
        "POST",
        "/admin/projects/acme-tools/yank",
        {"target": "1.1", "reason": "broken"},
    )
    assert reply.status_code == 200
    doc, by_name = files(http, published)
    assert by_name["acme_tools-1.1-py3-none-any.whl"]["yanked"] == "broken"
    assert by_name["acme_tools-1.0-py3-none-any.whl"]["yanked"] is False
    assert doc["meta"]["_last-serial"] > before["meta"]["_last-serial"]
    html = http.get("/simple/acme-tools/", headers=published).body.decode()
    assert 'data-yanked="broken"' in html
    admin_call(
        http,
        admin,
        "POST",
        "/admin/projects/acme-tools/yank",
        {"target": "acme_tools-1.1-py3-none-any.whl", "yanked": False},
    )
    _, by_name = files(http, published)
    assert by_name["acme_tools-1.1-py3-none-any.whl"]["yanked"] is False


def test_yank_without_reason(http, admin, published):
    admin_call(http, admin, "POST", "/admin/projects/acme-tools/yank", {"target": "1.0"})
    _, by_name = files(http, published)
    assert by_name["acme_tools-1.0-py3-none-any.whl"]["yanked"] is True
    html = http.get("/simple/acme-tools/", headers=published).body.decode()
    assert 'data-yanked=""' in html


def test_yank_unknown_target_404_and_non_admin_403(http, admin, issue, published):
    assert (
        admin_call(
            http, admin, "POST", "/admin/projects/acme-tools/yank", {"target": "9.9"}
        ).status_code
        == 404
    )
    assert (
        admin_call(
            http, issue("read"), "POST", "/admin/projects/acme-tools/yank", {"target": "1.0"}
        ).status_code
        == 403
    )


def test_quarantine_hides_files_and_drops_from_root(http, admin, published):
    reply = admin_call(
        http,
        admin,
        "PUT",
        "/admin/projects/acme-tools/status",
        {"status": "quarantined", "reason": "under review"},
    )
    assert reply.status_code == 200
    doc, by_name = files(http, published)
    assert by_name == {}
    assert doc["project-status"] == {"status": "quarantined", "reason": "under review"}
    wheel = "/files/acme-tools/acme_tools-1.0-py3-none-any.whl"
    assert http.get(wheel, headers=published).status_code == 404
    root = json.loads(http.get("/simple/", headers={**published, "Accept": JSON}).body)
    assert {"name": "acme-tools"} not in root["projects"]
    admin_call(http, admin, "PUT", "/admin/projects/acme-tools/status", {"status": "active"})
    assert http.get(wheel, headers=published).status_code == 302
    _, by_name = files(http, published)
    assert len(by_name) == 2


def test_deprecated_status_keeps_files(http, admin, published):
    admin_call(
        http,
        admin,
        "PUT",
        "/admin/projects/acme-tools/status",
        {"status": "deprecated", "reason": "use acme-tools2"},
    )
    doc, by_name = files(http, published)
    assert len(by_name) == 2
    assert doc["project-status"]["status"] == "deprecated"
    html = http.get("/simple/acme-tools/", headers=published).body.decode()
    assert '<meta name="pypi:project-status" content="deprecated">' in html


def test_unknown_status_400(http, admin, published):
    reply = admin_call(http, admin, "PUT", "/admin/projects/acme-tools/status", {"status": "gone"})
    assert reply.status_code == 400


@pytest.mark.parametrize("status", ["archived", "quarantined"])
def test_a_session_opened_before_the_project_closed_cannot_publish(
    http, issue, admin, app_client, aws, published, status
):
    from tests.upload_client import deliver_events, publish

    uploader = UploadClient(http, issue("upload", ("acme-*",)))
    session = uploader.create(version="2.0")
    data = wheel_bytes(version="2.0", metadata=metadata_text(version="2.0"))
    uploader.upload(session, "acme_tools-2.0-py3-none-any.whl", data)
    deliver_events(app_client, aws)
    assert admin_call(http, admin, "PUT", "/admin/projects/acme-tools/status", {"status": status})
    refused = publish(uploader, session)
    assert refused.status == 403
    assert refused.json["errors"][0]["code"] == "project-closed"
    assert uploader.session(session).json["status"] == "open"
    admin_call(http, admin, "PUT", "/admin/projects/acme-tools/status", {"status": "active"})
    assert publish(uploader, session).status == 202


@pytest.mark.parametrize(
    ("method", "path", "body", "says"),
    [
        ("POST", "/admin/projects/acme-tools/yank", {"target": "1.0"}, "yank or unyank"),
        ("PUT", "/admin/projects/acme-tools/status", {"status": "archived"}, "project's status"),
        ("GET", "/admin/tokens", None, "manage tokens"),
    ],
)
def test_non_admin_tokens_are_told_what_needs_an_admin(http, issue, method, path, body, says):
    reply = admin_call(http, issue("upload", ("acme-*",)), method, path, body or {})
    assert reply.status_code == 403
    assert says in json.loads(reply.body)["detail"]


def test_a_yank_whose_render_died_is_rendered_by_the_sweeper(
    http, admin, published, wharf, clock, monkeypatch
):
    """The yank is recorded and the serial raised; the Lambda dies before the page is
    written. The index must not keep showing the file as installable for good."""

    def crash(*args: object) -> None:
        raise RuntimeError("the Lambda died here")

    monkeypatch.setattr(wharf.publisher, "render_project", crash)
    with pytest.raises(RuntimeError):
        wharf.moderation.yank("acme-tools", "1.1", "broken", yanked=True)
    monkeypatch.undo()
    assert files(http, published)[1]["acme_tools-1.1-py3-none-any.whl"]["yanked"] is False

    assert wharf.repair.run()["renders"] == 0  # not overdue yet
    clock.advance(minutes=11)
    assert wharf.repair.run()["renders"] == 1

    assert files(http, published)[1]["acme_tools-1.1-py3-none-any.whl"]["yanked"] == "broken"
    assert wharf.repair.run()["renders"] == 0  # done: nothing left due
