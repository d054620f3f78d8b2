"""Trusted publishing through the app: PyPI's exchange at the host root, and the admin API."""

from __future__ import annotations

import json

import pytest

from chalicelib import wiring
from tests.conftest import EPOCH, basic
from tests.fakes import StaticIssuerDocuments
from tests.oidc_issuer import OWNER_ID, REPOSITORY, WORKFLOW, TestIssuer

pytestmark = pytest.mark.memory

GITHUB = "https://token.actions.githubusercontent.com"
NOW = int(EPOCH.timestamp())


@pytest.fixture
def issuer(wharf, aws, clock):
    github = TestIssuer(GITHUB)
    settings = wharf.settings.model_copy(update={"oidc_audience": "wharf-acme"})
    documents = StaticIssuerDocuments(github.documents())
    wiring.use(wiring.build(settings, clock=clock, stores=aws.stores, issuer_documents=documents))
    return github


PUBLISHER = {
    "kind": "github",
    "repository": REPOSITORY,
    "repository_owner_id": OWNER_ID,
    "workflow": WORKFLOW,
    "environment": "pypi",
    "projects": ["acme-*"],
    "may_publish": False,
}


def add_publisher(http, admin, body=PUBLISHER):
    return http.post(
        "/admin/publishers",
        headers={**basic(admin), "Content-Type": "application/json"},
        body=json.dumps(body),
    )


def mint(http, body, path="/_/oidc/mint-token"):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return http.post(path, headers={"Content-Type": "application/json"}, body=raw)


def test_audience_is_public(http, issuer):
    response = http.get("/_/oidc/audience")
    assert response.status_code == 200
    assert json.loads(response.body) == {"audience": "wharf-acme"}
    assert http.post("/_/oidc/audience").status_code == 405


@pytest.mark.parametrize("path", ["/_/oidc/mint-token", "/_/oidc/github/mint-token"])
def test_mint_answers_as_pypi_and_the_token_uploads(http, admin, issuer, path):
    assert add_publisher(http, admin).status_code == 201
    jwt = issuer.sign(issuer.github_claims(NOW, "wharf-acme", environment="pypi"))
    response = mint(http, {"token": jwt}, path)
    assert response.status_code == 200
    body = json.loads(response.body)
    assert body["success"] is True
    assert body["expires"] == NOW + 900
    assert body["token"].startswith("wharf_")
    assert response.headers["Cache-Control"] == "no-store"
    # An upload token for the publisher's projects (reading them too), and nothing else.
    assert http.get("/simple/acme-tools/", headers=basic(body["token"])).status_code == 404
    assert http.get("/simple/", headers=basic(body["token"])).status_code == 403
    listed = json.loads(http.get("/admin/tokens", headers=basic(admin)).body)["tokens"]
    assert body["token"] not in json.dumps(listed)
    assert [t["projects"] for t in listed if t["role"] == "upload"] == [["acme-*"]]


def refusal(response) -> tuple[int, str, str]:
    body = json.loads(response.body)
    assert body["message"] == "Token request failed"
    (error,) = body["errors"]
    return response.status_code, error["code"], error["description"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'{"token": 1}',
        b'{"token": "a", "extra": 1}',
        b"x" * 40000,
        b"[" * 20000,
    ],
    ids=["empty", "text", "list", "number", "extra", "huge", "deep"],
)
def test_bad_bodies(http, issuer, raw):
    status, code, _ = refusal(mint(http, raw))
    assert (status, code) == (422, "invalid-payload")


def test_refusals_name_no_claim_and_no_publisher(http, admin, issuer, log_lines):
    publisher = json.loads(add_publisher(http, admin).body)
    jwt = issuer.sign(issuer.github_claims(NOW, "wharf-acme", environment="staging"))
    response = mint(http, {"token": jwt})
    assert refusal(response) == (
        422,
        "invalid-publisher",
        "valid token, but no corresponding publisher",
    )
    for secret in ("staging", "pypi", publisher["id"], "environment", REPOSITORY):
        assert secret not in response.body.decode()
        assert secret not in log_lines()


def test_replayed_and_expired_tokens(http, admin, issuer, clock):
    add_publisher(http, admin)
    jwt = issuer.sign(issuer.github_claims(NOW, "wharf-acme", environment="pypi"))
    assert mint(http, {"token": jwt}).status_code == 200
    assert refusal(mint(http, {"token": jwt}))[1] == "invalid-reuse-token"
    clock.advance(minutes=10)
    fresh = issuer.sign(issuer.github_claims(NOW, "wharf-acme", environment="pypi"))
    assert refusal(mint(http, {"token": fresh}))[1] == "invalid-token"


def test_admin_manages_publishers_and_changes_count_at_once(http, admin, issuer, issue):
    uploader = issue("upload", ("acme-*",))
    assert add_publisher(http, uploader).status_code == 403
    assert http.get("/admin/publishers").status_code == 401
    created = json.loads(add_publisher(http, admin).body)
    assert created["projects"] == ["acme-*"] and created["issuer"] == GITHUB
    listed = json.loads(http.get("/admin/publishers", headers=basic(admin)).body)
    assert [p["id"] for p in listed["publishers"]] == [created["id"]]
    deleted = http.delete(f"/admin/publishers/{created['id']}", headers=basic(admin))
    assert deleted.status_code == 204
    jwt = issuer.sign(issuer.github_claims(NOW, "wharf-acme", environment="pypi"))
    assert refusal(mint(http, {"token": jwt}))[1] == "invalid-payload"
    again = http.delete(f"/admin/publishers/{created['id']}", headers=basic(admin))
    assert again.status_code == 404


def test_registration_problems_are_listed(http, admin, issuer):
    response = add_publisher(http, admin, {"kind": "github", "projects": ["acme-*"]})
    assert response.status_code == 400
    body = json.loads(response.body)
    assert "repository" in body["detail"] and "workflow" in body["detail"]
    assert json.loads(http.get("/admin/publishers", headers=basic(admin)).body) == {
        "publishers": []
    }


def test_a_mint_is_logged_with_the_matched_claims(http, admin, issuer, log_lines):
    publisher = json.loads(add_publisher(http, admin).body)
    jwt = issuer.sign(issuer.github_claims(NOW, "wharf-acme", environment="pypi"))
    secret = json.loads(mint(http, {"token": jwt}).body)["token"]
    (line,) = [json.loads(x) for x in log_lines().splitlines() if "minted" in x]
    assert line["publisher_id"] == publisher["id"]
    assert line["claims"]["repository"] == REPOSITORY
    assert line["claims"]["run_id"] == "123456"
    assert secret not in log_lines() and jwt not in log_lines()


def audit_events(http, admin) -> list[dict]:
    reply = http.get("/admin/audit?order=oldest", headers=basic(admin))
    assert reply.status_code == 200
    return json.loads(reply.body)["events"]


def test_the_audit_trail_records_publishers_and_mints_with_their_claims(http, admin, issuer, clock):
    # Events of one instant have no order; a second apart, the trail lists them in order.
    publisher = json.loads(add_publisher(http, admin).body)
    clock.advance(seconds=1)
    jwt = issuer.sign(issuer.github_claims(NOW + 1, "wharf-acme", environment="pypi"))
    secret = json.loads(mint(http, {"token": jwt}).body)["token"]
    clock.advance(seconds=1)
    assert http.delete(f"/admin/publishers/{publisher['id']}", headers=basic(admin)).status_code
    events = [e for e in audit_events(http, admin) if e["kind"] != "token.created"]
    assert [e["kind"] for e in events] == [
        "publisher.added",
        "token.minted",
        "publisher.removed",
    ]
    added, minted, removed = events
    assert added["subject"] == removed["subject"] == publisher["id"]
    assert added["details"]["repository"] == REPOSITORY
    assert minted["details"]["repository"] == REPOSITORY
    assert minted["details"]["run_id"] == "123456"
    assert minted["details"]["publisher_id"] == publisher["id"]
    assert minted["publisher"]["repository"] == REPOSITORY
    assert secret not in json.dumps(events) and jwt not in json.dumps(events)


def test_refused_exchanges_are_counted_in_the_audit_trail(http, admin, issuer):
    jwt = issuer.sign(issuer.github_claims(NOW, "another-audience", environment="pypi"))
    assert add_publisher(http, admin).status_code == 201
    for _ in range(2):
        assert mint(http, {"token": jwt}).status_code == 422
    (failed,) = [e for e in audit_events(http, admin) if e["kind"] == "auth.failed"]
    assert failed["count"] == 2
    assert failed["reason"] == "trusted publishing: invalid-token"
    assert jwt not in json.dumps(failed)
