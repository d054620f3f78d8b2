"""The review step through the HTTP API: what clients see while a file is reviewed, and the
admin API reviewers post verdicts to."""

from __future__ import annotations

import json

import pytest

from tests.builders import wheel_bytes
from tests.conftest import basic
from tests.upload_client import deliver_events, publish

pytestmark = pytest.mark.memory

WHEEL = "acme_tools-1.0-py3-none-any.whl"


@pytest.fixture
def reviewed(rebuild):
    return rebuild(reviewers="scanner", review_timeout_seconds=300)


def admin_call(http, secret, method, path, body=None, *, content_type="application/json"):
    return http.request(
        method,
        path,
        headers={**basic(secret), "Content-Type": content_type},
        body=json.dumps(body).encode() if body is not None else b"",
    )


def held_file(reviewed, uploader, app_client, aws):
    session = uploader.create()
    file = uploader.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    [review] = reviewed.stores.reviews.reviews.values()
    return session, file, review.review_id


def test_a_file_under_review_reads_processing_and_blocks_delete_and_publish(
    reviewed, uploader, app_client, aws
):
    session, file, _ = held_file(reviewed, uploader, app_client, aws)
    status = uploader.file_status(file)
    assert status.status == 200 and status.json["status"] == "processing"
    assert uploader.session(session).json["files"][WHEEL]["status"] == "processing"
    deleted = uploader.delete_file(file)
    assert deleted.status == 409
    assert deleted.json["type"] == "urn:wharf:problem:file-not-pending"
    refused = publish(uploader, uploader.session(session))
    assert refused.status == 409
    assert refused.json["type"] == "urn:wharf:problem:files-not-completed"
    assert refused.json["errors"] == [{"source": WHEEL, "message": "processing"}]


def test_verdicts_through_the_admin_api(reviewed, uploader, app_client, aws, http, admin):
    _session, file, review_id = held_file(reviewed, uploader, app_client, aws)
    path = f"/admin/reviews/{review_id}/verdicts"
    listed = json.loads(admin_call(http, admin, "GET", "/admin/reviews").body)["reviews"]
    assert [r["review_id"] for r in listed] == [review_id]
    shown = admin_call(http, admin, "GET", f"/admin/reviews/{review_id}")
    assert shown.status_code == 200
    body = json.loads(shown.body)
    assert body["state"] == "open" and body["filename"] == WHEEL
    assert body["announcement"]["download_url"]
    rejected = admin_call(
        http, admin, "POST", path, {"reviewer": "scanner", "decision": "reject", "reason": "bad"}
    )
    assert rejected.status_code == 200, rejected.body
    assert json.loads(rejected.body)["state"] == "rejected"
    again = admin_call(
        http, admin, "POST", path, {"reviewer": "scanner", "decision": "reject", "reason": "bad"}
    )
    assert again.status_code == 200
    other = admin_call(http, admin, "POST", path, {"reviewer": "scanner", "decision": "approve"})
    assert other.status_code == 409
    assert json.loads(other.body)["type"] == "urn:wharf:problem:review-closed"
    status = uploader.file_status(file).json
    assert status["status"] == "error"
    assert status["notices"] == ["review: rejected by scanner: bad"]
    assert json.loads(admin_call(http, admin, "GET", "/admin/reviews").body)["reviews"] == []
    described = json.loads(admin_call(http, admin, "GET", f"/admin/reviews/{review_id}").body)
    assert described["quarantine_url"]
    assert "announcement" not in described


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"reviewer": "scanner"}, 400),
        ({"reviewer": "scanner", "decision": "maybe"}, 400),
        ({"reviewer": "scanner", "decision": "reject"}, 400),
        ({"reviewer": "nobody", "decision": "approve"}, 400),
        ({"reviewer": "scanner", "decision": "approve", "extra": 1}, 400),
        ({"reviewer": "scanner", "decision": "reject", "reason": "x" * 1001}, 400),
    ],
)
def test_bad_verdicts_are_refused_and_change_nothing(
    reviewed, uploader, app_client, aws, http, admin, body, status
):
    _, file, review_id = held_file(reviewed, uploader, app_client, aws)
    reply = admin_call(http, admin, "POST", f"/admin/reviews/{review_id}/verdicts", body)
    assert reply.status_code == status, reply.body
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert reviewed.stores.reviews.reviews[review_id].verdicts == {}
    assert uploader.file_status(file).json["status"] == "processing"


def test_only_admins_decide_and_unknown_reviews_are_404(
    reviewed, uploader, app_client, aws, http, issue, admin
):
    _, _, review_id = held_file(reviewed, uploader, app_client, aws)
    verdict = {"reviewer": "scanner", "decision": "approve"}
    path = f"/admin/reviews/{review_id}/verdicts"
    assert admin_call(http, uploader.secret, "POST", path, verdict).status_code == 403
    assert admin_call(http, issue("read"), "GET", f"/admin/reviews/{review_id}").status_code == 403
    assert admin_call(http, uploader.secret, "GET", "/admin/reviews").status_code == 403
    missing = admin_call(http, admin, "POST", "/admin/reviews/" + "0" * 32 + "/verdicts", verdict)
    assert missing.status_code == 404
    assert admin_call(http, admin, "GET", "/admin/reviews/not-an-id").status_code == 404
    assert admin_call(http, admin, "PUT", path, verdict).status_code == 405
    assert reviewed.stores.reviews.reviews[review_id].verdicts == {}


def test_the_review_policy_through_the_admin_api(reviewed, http, admin):
    path = "/admin/projects/Acme_Tools/review-policy"
    default = json.loads(admin_call(http, admin, "GET", path).body)
    assert default == {"project": "acme-tools", "on_timeout": "reject", "timeout_seconds": 300}
    set_ = admin_call(http, admin, "PUT", path, {"on_timeout": "approve", "timeout_seconds": 60})
    assert set_.status_code == 200
    assert json.loads(set_.body)["on_timeout"] == "approve"
    for bad in ({"on_timeout": "ignore"}, {"timeout_seconds": 0}, {"other": 1}):
        reply = admin_call(http, admin, "PUT", path, bad)
        assert reply.status_code == 400, bad
    assert json.loads(admin_call(http, admin, "GET", path).body)["timeout_seconds"] == 60


def test_the_sweeper_applies_the_timeout_policy(
    reviewed, uploader, app_client, aws, http, admin, clock
):
    admin_call(
        http,
        admin,
        "PUT",
        "/admin/projects/acme-tools/review-policy",
        {"on_timeout": "approve", "timeout_seconds": 60},
    )
    session, file, _ = held_file(reviewed, uploader, app_client, aws)
    clock.advance(seconds=61)
    event = app_client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    app_client.lambda_.invoke("expire_sessions", event)
    assert uploader.file_status(file).json["status"] == "completed"
    assert publish(uploader, uploader.session(session)).status == 202
