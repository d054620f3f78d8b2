"""The client's side of trusted publishing, against a scripted server: where it finds the
exchange, what it sends, how it reports a refusal; and `wharf publisher add`."""

from __future__ import annotations

import json

import pytest

from tests.scripted_http import scripted_server
from wharf_cli.client import ClientError
from wharf_cli.main import main
from wharf_cli.trusted_publishing import in_ci, mint_token

JSON = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def outside_ci(monkeypatch, tmp_path):
    for name in ("WHARF_URL", "WHARF_TOKEN", "WHARF_ID_TOKEN", "GITHUB_ACTIONS", "GITLAB_CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYPIRC", str(tmp_path / "none"))


def test_the_exchange_is_at_the_host_root_and_sends_only_the_jwt(monkeypatch):
    monkeypatch.setenv("WHARF_ID_TOKEN", "header.claims.signature")
    assert in_ci()
    with scripted_server() as (url, script):
        script.answers[("GET", "/_/oidc/audience")] = [(200, JSON, b'{"audience": "wharf-x"}')]
        minted = {"success": True, "token": "wharf_minted", "expires": 1}
        script.answers[("POST", "/_/oidc/mint-token")] = [(200, JSON, json.dumps(minted).encode())]
        # A server root below a stage path: the exchange is still at the host's root.
        assert mint_token(url + "/api") == "wharf_minted"
    assert json.loads(script.seen[1][2]) == {"token": "header.claims.signature"}
    assert all("Authorization" not in h for h in script.headers)


def test_a_refusal_names_pypis_code_and_never_the_jwt(monkeypatch):
    monkeypatch.setenv("WHARF_ID_TOKEN", "secret.jwt.value")
    refusal = {
        "message": "Token request failed",
        "errors": [{"code": "invalid-publisher", "description": "valid token, but no match"}],
    }
    with scripted_server() as (url, script):
        script.answers[("GET", "/_/oidc/audience")] = [(200, JSON, b'{"audience": "wharf-x"}')]
        script.answers[("POST", "/_/oidc/mint-token")] = [(422, JSON, json.dumps(refusal).encode())]
        with pytest.raises(ClientError) as caught:
            mint_token(url)
    message = str(caught.value)
    assert "invalid-publisher: valid token, but no match" in message
    assert "secret.jwt.value" not in message
    assert caught.value.status == 422


def test_a_server_without_the_exchange_says_so(monkeypatch):
    monkeypatch.setenv("WHARF_ID_TOKEN", "a.b.c")
    with scripted_server() as (url, script):
        script.answers[("GET", "/_/oidc/audience")] = [(404, JSON, b"{}")]
        with pytest.raises(ClientError, match="does not offer it"):
            mint_token(url)
    assert [seen[0] for seen in script.seen] == ["GET"]


def test_outside_ci_without_a_token_upload_explains(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("WHARF_URL", "http://127.0.0.1:9")
    wheel = tmp_path / "acme-1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    assert not in_ci()
    assert main(["upload", str(wheel)]) == 1
    assert "no token" in capsys.readouterr().err


def test_publisher_add_sends_the_registration(capsys):
    created = {
        "id": "tp-1",
        "kind": "github",
        "issuer": "https://token.actions.githubusercontent.com",
        "repository": "acme/tools",
        "workflow": "release.yml",
        "environment": "pypi",
        "projects": ["acme-*"],
        "may_publish": False,
    }
    with scripted_server() as (url, script):
        script.answers[("POST", "/admin/publishers")] = [(201, JSON, json.dumps(created).encode())]
        code = main(
            [
                "publisher",
                "add",
                "--url",
                url,
                "--token",
                "wharf_admin",
                "--kind",
                "github",
                "--repository",
                "acme/tools",
                "--owner-id",
                "42",
                "--workflow",
                "release.yml",
                "--environment",
                "pypi",
                "--project",
                "acme-*",
                "--upload-only",
            ]
        )
    assert code == 0
    assert json.loads(script.seen[0][2]) == {
        "kind": "github",
        "repository": "acme/tools",
        "repository_owner_id": "42",
        "workflow": "release.yml",
        "environment": "pypi",
        "projects": ["acme-*"],
        "may_publish": False,
        "description": "",
    }
    assert capsys.readouterr().out == (
        "Added trusted publisher tp-1: github acme/tools release.yml environment=pypi; "
        "projects acme-*; upload only.\n"
    )


def test_publisher_claims_must_be_name_value(capsys):
    target = ["--url", "http://127.0.0.1:9", "--token", "t"]
    other = ["--kind", "other", "--issuer", "https://ci.example", "--claim", "sub"]
    code = main(["publisher", "add", *target, *other, "--project", "a"])
    assert code == 1
    assert "--claim takes NAME=VALUE" in capsys.readouterr().err
