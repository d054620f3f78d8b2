"""Trusted publishing end to end: a local OIDC issuer with its own keys (and a stand-in for
GitHub's ID-token endpoint), the stack over HTTPS, and real clients that hold no secret:
`uv publish --trusted-publishing always` and `wharf upload` in a "GitHub Actions" job, and
`wharf upload` in a "GitLab CI" job (through the `id` library's <AUDIENCE>_ID_TOKEN)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import BIN, Stack, start_stack
from tests.e2e.test_legacy_clients import build
from tests.oidc_issuer import OWNER_ID, IssuerServer

pytestmark = pytest.mark.e2e

AUDIENCE = "wharf-e2e"
ADMIN = "wharf_e2e-tp-admin-secret"


class Scenario:
    """What the GitHub stand-in signs next: overrides of the default GitHub claims."""

    def __init__(self) -> None:
        self.overrides: dict[str, object] = {}

    def __call__(self, issuer, audience: str) -> dict[str, object]:
        import time

        return issuer.github_claims(int(time.time()), audience, **self.overrides)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, str]:
    import trustme

    home = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {"ca": home / "ca.pem", "chain": home / "chain.pem", "key": home / "key.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    for blob in cert.cert_chain_pems:
        blob.write_to_path(str(paths["chain"]), append=True)
    return {name: str(path) for name, path in paths.items()} | {"cert": cert}  # type: ignore[dict-item]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario()


@pytest.fixture(scope="module")
def issuer(pki, scenario) -> Iterator[IssuerServer]:
    with IssuerServer(pki["cert"], scenario) as server:
        yield server


@pytest.fixture(scope="module")
def tls_stack(tmp_path_factory, pki) -> Iterator[Stack]:
    running = start_stack(
        tmp_path_factory.mktemp("tls-stack"),
        admin_token=ADMIN,
        extra_env={
            "WHARF_TLS_CERT": pki["chain"],
            "WHARF_TLS_KEY": pki["key"],
            # The stack trusts the local CA when it fetches the issuer's keys.
            "SSL_CERT_FILE": pki["ca"],
            "WHARF_OIDC_AUDIENCE": AUDIENCE,
        },
    )
    yield running
    running.stop()


def client_env(pki, **extra: str) -> dict[str, str]:
    """A CI job's environment: no wharf secret anywhere, the local CA trusted."""
    drop = ("WHARF_", "UV_", "TWINE_", "GITHUB_", "GITLAB_", "ACTIONS_", "CI")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(SSL_CERT_FILE=pki["ca"], REQUESTS_CA_BUNDLE=pki["ca"], **extra)
    return env


def github_job(pki, issuer: IssuerServer, tmp: Path, **extra: str) -> dict[str, str]:
    return client_env(
        pki,
        GITHUB_ACTIONS="true",
        ACTIONS_ID_TOKEN_REQUEST_URL=issuer.token_url,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN=issuer.request_token,
        UV_CACHE_DIR=str(tmp / "uv-cache"),
        UV_NO_CONFIG="1",
        **extra,
    )


def wharf_admin(stack: Stack, pki, *args: str) -> subprocess.CompletedProcess:
    env = client_env(pki, WHARF_URL=stack.url, WHARF_TOKEN=ADMIN)
    return subprocess.run(
        [str(BIN / "wharf"), *args], env=env, capture_output=True, text=True, timeout=60
    )


def files_of(stack: Stack, pki, project: str) -> list[str]:
    response = requests.get(
        f"{stack.url}/simple/{project}/",
        auth=("__token__", ADMIN),
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        verify=pki["ca"],
        timeout=30,
    )
    if response.status_code == 404:
        return []
    return sorted(f["filename"] for f in response.json()["files"])


@pytest.fixture(scope="module")
def publishers(tls_stack, issuer, pki) -> dict[str, str]:
    github = wharf_admin(
        tls_stack,
        pki,
        "publisher",
        "add",
        "--kind",
        "github",
        "--issuer",
        issuer.issuer.url,
        "--repository",
        "acme/tools",
        "--owner-id",
        OWNER_ID,
        "--workflow",
        "release.yml",
        "--project",
        "tp-*",
        "--json",
    )
    assert github.returncode == 0, github.stderr
    gitlab = wharf_admin(
        tls_stack,
        pki,
        "publisher",
        "add",
        "--kind",
        "gitlab",
        "--issuer",
        issuer.issuer.url,
        "--repository",
        "acme/tools",
        "--workflow",
        ".gitlab-ci.yml",
        "--environment",
        "release",
        "--project",
        "tp-gitlab",
    )
    assert gitlab.returncode == 0, gitlab.stderr
    listed = wharf_admin(tls_stack, pki, "publisher", "list")
    assert "github acme/tools release.yml; projects tp-*" in listed.stdout
    assert "environment=release" in listed.stdout
    return {"github": json.loads(github.stdout)["id"]}


def uv_publish(pki, issuer, tmp, stack, files) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(BIN / "uv"),
            "publish",
            "--publish-url",
            f"{stack.url}/legacy/",
            "--trusted-publishing",
            "always",
            *map(str, files),
        ],
        env=github_job(pki, issuer, tmp),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_uv_publish_with_no_secret(tls_stack, issuer, pki, publishers, scenario, tmp_path):
    scenario.overrides = {}
    files = build(tmp_path, "tp-uv")
    published = uv_publish(pki, issuer, tmp_path, tls_stack, files)
    assert published.returncode == 0, published.stderr
    assert files_of(tls_stack, pki, "tp-uv") == sorted(f.name for f in files)
    assert len(issuer.handed_out) >= 1


def test_a_job_of_another_repository_is_refused(
    tls_stack, issuer, pki, publishers, scenario, tmp_path
):
    scenario.overrides = {"repository": "evil/tools"}
    try:
        files = build(tmp_path, "tp-evil")
        refused = uv_publish(pki, issuer, tmp_path, tls_stack, files)
    finally:
        scenario.overrides = {}
    assert refused.returncode != 0
    assert "invalid-publisher" in refused.stderr, refused.stderr
    # uv prints the JWT's claims itself; wharf's answer names none of them.
    assert "valid token, but no corresponding publisher" in refused.stderr
    assert files_of(tls_stack, pki, "tp-evil") == []


def test_a_minted_jwt_is_not_accepted_twice(tls_stack, issuer, pki, publishers):
    assert issuer.handed_out, "an earlier test minted through the stand-in"
    replay = requests.post(
        f"{tls_stack.url}/_/oidc/mint-token",
        json={"token": issuer.handed_out[0]},
        verify=pki["ca"],
        timeout=30,
    )
    assert replay.status_code == 422
    assert replay.json()["errors"][0]["code"] == "invalid-reuse-token"


def test_wharf_upload_in_github_actions(tls_stack, issuer, pki, publishers, scenario, tmp_path):
    scenario.overrides = {}
    files = build(tmp_path, "tp-wharf")
    uploaded = subprocess.run(
        [str(BIN / "wharf"), "upload", *map(str, files)],
        env=github_job(pki, issuer, tmp_path, WHARF_URL=tls_stack.url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert uploaded.returncode == 0, uploaded.stderr
    assert files_of(tls_stack, pki, "tp-wharf") == sorted(f.name for f in files)


def test_wharf_upload_in_gitlab_ci(tls_stack, issuer, pki, publishers, tmp_path):
    import time

    server = issuer.issuer
    claims = server.gitlab_claims(int(time.time()), AUDIENCE, environment="release")
    files = build(tmp_path, "tp-gitlab")
    # GitLab hands the job its ID token in the variable the job declared under id_tokens:
    # the `id` library looks for <AUDIENCE>_ID_TOKEN.
    env = client_env(pki, GITLAB_CI="true", WHARF_URL=tls_stack.url)
    env["WHARF_E2E_ID_TOKEN"] = server.sign(claims)
    uploaded = subprocess.run(
        [str(BIN / "wharf"), "upload", *map(str, files)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert uploaded.returncode == 0, uploaded.stderr
    assert files_of(tls_stack, pki, "tp-gitlab") == sorted(f.name for f in files)
    # The same job's token for a project its publisher does not cover mints, but cannot upload.
    (tmp_path / "other").mkdir()
    other = build(tmp_path / "other", "tp-other")
    env["WHARF_E2E_ID_TOKEN"] = server.sign(
        server.gitlab_claims(int(time.time()), AUDIENCE, environment="release")
    )
    refused = subprocess.run(
        [str(BIN / "wharf"), "upload", *map(str, other)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0
    assert files_of(tls_stack, pki, "tp-other") == []


def test_without_ci_or_token_wharf_upload_says_what_to_do(tls_stack, pki, tmp_path):
    files = build(tmp_path, "tp-none")
    result = subprocess.run(
        [str(BIN / "wharf"), "upload", *map(str, files)],
        env=client_env(pki, WHARF_URL=tls_stack.url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "no token" in result.stderr and "trusted publisher" in result.stderr
