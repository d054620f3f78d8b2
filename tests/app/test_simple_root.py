"""GET /simple/ through the app, on moto."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.layout import ROOT_INDEX_HTML, ROOT_INDEX_JSON
from tests.conftest import basic

# Contract-tested fakes (tests/adapters) unless a test reads AWS itself (marked moto).
pytestmark = pytest.mark.memory

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def test_empty_root_html(http, issue):
    response = http.get("/simple/", headers=basic(issue("read")))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Vary"] == "Accept"
    assert response.headers["X-PyPI-Last-Serial"] == "0"
    assert '<meta name="pypi:repository-version" content="1.4">' in response.body.decode()


def test_empty_root_json(http, issue):
    headers = {**basic(issue("read")), "Accept": JSON_TYPE}
    response = http.get("/simple/", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == JSON_TYPE
    assert json.loads(response.body) == {
        "meta": {"api-version": "1.4", "_last-serial": 0},
        "projects": [],
    }


@pytest.mark.moto  # reads AWS itself
def test_serves_the_stored_index(http, issue, aws):
    aws.clients.s3.put_object(
        Bucket=aws.resources.bucket,
        Key=ROOT_INDEX_JSON,
        Body=b'{"meta":{"api-version":"1.4","_last-serial":7},"projects":[{"name":"acme"}]}',
        Metadata={"last-serial": "7"},
    )
    aws.clients.s3.put_object(
        Bucket=aws.resources.bucket, Key=ROOT_INDEX_HTML, Body=b"<html>acme</html>"
    )
    secret = issue("read")
    as_json = http.get("/simple/", headers={**basic(secret), "Accept": JSON_TYPE})
    assert json.loads(as_json.body)["projects"] == [{"name": "acme"}]
    assert as_json.headers["X-PyPI-Last-Serial"] == "7"
    assert http.get("/simple/", headers=basic(secret)).body == b"<html>acme</html>"


def test_etag_and_304(http, issue):
    headers = basic(issue("read"))
    first = http.get("/simple/", headers=headers)
    etag = first.headers["ETag"]
    again = http.get("/simple/", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.body == b""
    other = http.get("/simple/", headers={**headers, "If-None-Match": '"other"'})
    assert other.status_code == 200
    json_etag = http.get("/simple/", headers={**headers, "Accept": JSON_TYPE}).headers["ETag"]
    assert json_etag != etag


def test_406_when_nothing_acceptable(http, issue):
    response = http.get("/simple/", headers={**basic(issue("read")), "Accept": "application/json"})
    assert response.status_code == 406
    assert response.headers["Content-Type"] == "application/problem+json"


def test_slashless_root_redirects(http):
    response = http.get("/simple")
    assert response.status_code == 301
    assert response.headers["Location"] == "/simple/"


def test_missing_credentials_401(http):
    response = http.get("/simple/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="wharf"'
    problem = json.loads(response.body)
    assert problem["status"] == 401
    assert problem["type"].endswith("authentication-required")
    assert "__token__" in problem["detail"]


def test_bearer_is_accepted(http, issue):
    response = http.get("/simple/", headers={"Authorization": f"Bearer {issue('read')}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Basic",
        "Basic %%%",
        "Token abc",
        "Bearer wharf_not-a-real-token",
        "Basic X190b2tlbl9fOndyb25n",  # __token__:wrong
    ],
)
def test_bad_credentials_401(http, header):
    response = http.get("/simple/", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="wharf"'


def test_token_as_username_is_explained(http, issue):
    secret = issue("read")
    response = http.get("/simple/", headers=basic("", user=secret))
    assert response.status_code == 401
    body = response.body.decode()
    assert "sent as the username" in body
    assert secret not in body


def test_upload_token_cannot_list_the_index(http, issue):
    response = http.get("/simple/", headers=basic(issue("upload", ("acme-*",))))
    assert response.status_code == 403


def test_expired_token_401_on_next_request(http, issue, clock):
    secret = issue("read", expires_days=1)
    assert http.get("/simple/", headers=basic(secret)).status_code == 200
    clock.advance(days=1)
    response = http.get("/simple/", headers=basic(secret))
    assert response.status_code == 401
    assert "expired" in json.loads(response.body)["detail"]


def test_revoked_token_401_on_next_request(http, issue, wharf):
    secret = issue("read")
    assert http.get("/simple/", headers=basic(secret)).status_code == 200
    token_id = wharf.tokens.list()[-1].record.id
    wharf.tokens.revoke(token_id)
    assert http.get("/simple/", headers=basic(secret)).status_code == 401


def test_last_used_is_recorded(http, issue, wharf):
    secret = issue("read")
    assert wharf.tokens.list()[-1].record.last_used_at is None
    http.get("/simple/", headers=basic(secret))
    assert wharf.tokens.list()[-1].record.last_used_at is not None
