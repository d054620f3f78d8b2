"""The audit trail through the app: what each step records, and the admin API over it."""

from __future__ import annotations

import json

import pytest

from tests.app.test_legacy import post as legacy_post
from tests.builders import wheel_bytes
from tests.conftest import basic
from tests.upload_client import UploadClient, deliver_events, publish

pytestmark = pytest.mark.memory

WHEEL = "acme_tools-1.0-py3-none-any.whl"


def create_token(http, admin, body):
    reply = http.post(
        "/admin/tokens",
        headers={**basic(admin), "Content-Type": "application/json"},
        body=json.dumps(body).encode(),
    )
    assert reply.status_code == 201, reply.body
    return json.loads(reply.body)


def audit(http, admin, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    reply = http.get(f"/admin/audit?{query}", headers=basic(admin))
    assert reply.status_code == 200, reply.body
    return json.loads(reply.body)


def test_the_release_manager_flow_is_recorded_in_order_with_its_actors(
    http, admin, app_client, aws, wharf, clock
):
    ci = create_token(http, admin, {"role": "upload", "projects": ["acme-*"], "publish": False})
    clock.advance(seconds=1)
    manager = create_token(http, admin, {"role": "upload", "projects": ["acme-*"]})
    stager, releaser = UploadClient(http, ci["token"]), UploadClient(http, manager["token"])
    # The trail is ordered by time: each step a second after the last (the clock is fake).
    session = stager.create()
    clock.advance(seconds=1)
    stager.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    clock.advance(seconds=1)
    assert publish(stager, session).status == 403
    clock.advance(seconds=1)
    assert publish(releaser, session).status == 202
    clock.advance(seconds=1)
    deliver_events(app_client, aws)

    page = audit(http, admin, project="acme-tools", order="oldest")
    assert page["order"] == "oldest-first" and page["next"] is None
    steps = [(e["kind"], e["actor"]) for e in page["events"]]
    assert steps == [
        ("session.opened", ci["id"]),
        ("file.completed", ci["id"]),
        ("permission.denied", ci["id"]),
        ("release.publish-requested", manager["id"]),
        ("release.published", manager["id"]),
    ]
    denied = page["events"][2]
    assert denied["reason"] == "publish needs the 'publish' permission"
    assert page["events"][1]["subject"] == WHEEL
    token = session.json["session-token"]
    assert all(token not in json.dumps(e) for e in page["events"])  # a stage credential

    # The release records its publisher; the project's PEP 691 page shows it.
    page = json.loads(
        http.get(
            "/simple/acme-tools/",
            headers={**basic(manager["token"]), "Accept": "application/vnd.pypi.simple.v1+json"},
        ).body
    )
    assert page["_wharf-published-by"] == {"1.0": {"token_id": manager["id"]}}

    [admin_id] = [t.record.id for t in wharf.tokens.list() if t.record.role == "admin"]
    created = audit(http, admin, actor=admin_id, order="oldest")
    assert [e["kind"] for e in created["events"]] == ["token.created", "token.created"]
    assert created["events"][0]["details"]["permissions"] == "upload"
    assert created["events"][1]["details"]["permissions"] == "upload,publish"


def test_refused_files_cancels_yanks_and_status_changes_are_recorded(
    http, admin, issue, app_client, aws, clock
):
    uploader = UploadClient(http, issue("upload", ("acme-*",)))
    bad = legacy_post(http, uploader.secret, b"not a wheel")
    assert bad.status_code == 400
    clock.advance(seconds=1)
    session = uploader.create(version="2.0")
    clock.advance(seconds=1)
    assert uploader.cancel(session).status == 200
    clock.advance(seconds=1)
    assert legacy_post(http, uploader.secret, wheel_bytes()).status_code == 200
    for path, body in (
        ("yank", {"target": "1.0", "reason": "broken"}),
        ("status", {"status": "archived", "reason": "moved"}),
    ):
        clock.advance(seconds=1)
        method = http.post if path == "yank" else http.put
        reply = method(
            f"/admin/projects/acme-tools/{path}",
            headers={**basic(admin), "Content-Type": "application/json"},
            body=json.dumps(body).encode(),
        )
        assert reply.status_code == 200, reply.body
    events = audit(http, admin, project="acme-tools")["events"]
    kinds = [e["kind"] for e in events]
    assert kinds == [
        "project.status",
        "release.yanked",
        "release.published",
        "session.canceled",
        "session.opened",
        "file.refused",
    ]
    refused = events[-1]
    assert refused["subject"] == WHEEL and "wheel" in refused["reason"].lower()
    assert events[0]["subject"] == "archived" and events[0]["reason"] == "moved"
    assert events[1]["reason"] == "broken" and events[1]["details"]["files"] == WHEEL


def test_failed_authentications_are_counted_per_source_without_secrets(http, admin, issue):
    revoked = issue("read")
    for secret in ("wharf_guess", "wharf_guess2", revoked):
        http.get("/simple/", headers=basic(secret))
    events = audit(http, admin)["events"]
    failures = {e["reason"]: e for e in events if e["kind"] == "auth.failed"}
    assert failures["unknown token"]["count"] == 2
    assert failures["unknown token"]["actor"] == "anonymous"
    text = json.dumps(events)
    assert "wharf_guess" not in text and revoked not in text


def test_pages_follow_the_cursor_newest_first(http, admin, issue, clock):
    for _ in range(5):
        clock.advance(seconds=1)
        issue("read")
    seen, cursor = [], None
    while True:
        page = audit(http, admin, limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["order"] == "newest-first" and len(page["events"]) <= 2
        seen += [e["at"] for e in page["events"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert len(set(seen)) == 6 and seen == sorted(seen, reverse=True)  # admin + five


@pytest.mark.parametrize(
    "query",
    [
        "order=sideways",
        "limit=0",
        "limit=201",
        "since=yesterday",
        "since=2001-01-01T00:00:00",
        "cursor=nope",
        "colour=blue",
    ],
)
def test_bad_queries_are_400(http, admin, query):
    reply = http.get(f"/admin/audit?{query}", headers=basic(admin))
    assert reply.status_code == 400, reply.body
    assert json.loads(reply.body)["type"] == "urn:wharf:problem:invalid-request"


def test_only_admins_read_the_trail(http, issue):
    assert http.get("/admin/audit", headers=basic(issue("upload", ("acme",)))).status_code == 403
    assert http.get("/admin/audit").status_code == 401
