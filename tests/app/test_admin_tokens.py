"""The admin token API through the app, on moto."""

from __future__ import annotations

import json

import pytest

from tests.conftest import basic

# Contract-tested fakes (tests/adapters): these behaviours need nothing only moto shows.
pytestmark = pytest.mark.memory


def post(http, secret, body, content_type="application/json"):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return http.post(
        "/admin/tokens",
        headers={**basic(secret), "Content-Type": content_type},
        body=raw,
    )


def test_create_read_token_that_can_read(http, admin):
    response = post(http, admin, {"role": "read", "description": "ci mirror", "expires_days": 30})
    assert response.status_code == 201
    created = json.loads(response.body)
    assert set(created) >= {"id", "token", "role", "projects", "expires_at", "created_at"}
    assert created["role"] == "read"
    assert created["projects"] == []
    assert created["expires_at"] == "2001-01-31T12:00:00Z"
    assert created["token"].startswith("wharf_")
    assert http.get("/simple/", headers=basic(created["token"])).status_code == 200


def test_create_upload_token_normalises_patterns(http, admin):
    response = post(http, admin, {"role": "upload", "projects": ["Acme_*", "tools"]})
    assert response.status_code == 201
    assert json.loads(response.body)["projects"] == ["acme-*", "tools"]


def test_list_never_shows_secrets(http, admin, clock):
    clock.advance(seconds=1)
    secret = json.loads(post(http, admin, {"role": "read"}).body)["token"]
    response = http.get("/admin/tokens", headers=basic(admin))
    assert response.status_code == 200
    assert secret not in response.body.decode()
    assert admin not in response.body.decode()
    tokens = json.loads(response.body)["tokens"]
    assert [t["role"] for t in tokens] == ["admin", "read"]
    assert all("token" not in t and "secret_hash" not in t for t in tokens)


def test_revoke(http, admin):
    created = json.loads(post(http, admin, {"role": "read"}).body)
    response = http.delete(f"/admin/tokens/{created['id']}", headers=basic(admin))
    assert response.status_code == 204
    assert http.get("/simple/", headers=basic(created["token"])).status_code == 401
    listed = json.loads(http.get("/admin/tokens", headers=basic(admin)).body)["tokens"]
    assert [t["status"] for t in listed if t["id"] == created["id"]] == ["revoked"]
    again = http.delete(f"/admin/tokens/{created['id']}", headers=basic(admin))
    assert again.status_code == 404


def test_revoke_unknown_id_404(http, admin):
    assert http.delete("/admin/tokens/nope", headers=basic(admin)).status_code == 404


@pytest.mark.parametrize("role", ["read", "upload"])
def test_non_admin_gets_403(http, issue, role):
    secret = issue(role, ("acme",) if role == "upload" else ())
    assert post(http, secret, {"role": "read"}).status_code == 403
    assert http.get("/admin/tokens", headers=basic(secret)).status_code == 403
    assert http.delete("/admin/tokens/x", headers=basic(secret)).status_code == 403


def test_anonymous_gets_401(http):
    response = http.get("/admin/tokens")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="wharf"'


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"role": "superuser"}, "role"),
        ({"role": "upload"}, "at least one project pattern"),
        ({"role": "upload", "projects": [""]}, "must not be empty"),
        ({"role": "upload", "projects": ["bad name!"]}, "not a project-name pattern"),
        ({"role": "read", "projects": ["acme"]}, "only apply to upload tokens"),
        ({"role": "read", "expires_days": 0}, "expires_days"),
        ({"role": "read", "expires_days": "ten"}, "expires_days"),
        ({"role": "read", "description": 5}, "description"),
        ({"role": "read", "colour": "blue"}, "colour"),
        ({}, "role"),
    ],
)
def test_invalid_requests_400(http, admin, wharf, body, fragment):
    before = len(wharf.tokens.list())
    response = post(http, admin, body)
    assert response.status_code == 400
    problem = json.loads(response.body)
    assert problem["type"].endswith("invalid-request")
    assert fragment in json.dumps(problem["errors"])
    assert len(wharf.tokens.list()) == before


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"read"', ""])
def test_malformed_json_400(http, admin, raw):
    response = post(http, admin, raw)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"


def test_wrong_content_type_415(http, admin):
    response = post(http, admin, "role=read", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


@pytest.mark.moto  # reads the table
def test_no_secret_in_table_or_logs(http, admin, aws, log_lines):
    created = json.loads(post(http, admin, {"role": "read"}).body)
    http.get("/simple/", headers=basic(created["token"]))
    http.get("/admin/tokens", headers=basic(admin))
    items = aws.clients.dynamodb.scan(TableName=aws.resources.table)["Items"]
    dumped = json.dumps(items)
    assert created["token"] not in dumped and admin not in dumped
    logs = log_lines()
    assert '"message":"request"' in logs  # the log is there to be searched
    assert created["token"] not in logs
    assert admin not in logs
