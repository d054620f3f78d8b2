"""PEP 740 on the local stack: real production-signed distributions (the fixtures keep their
real PyPI names and versions) through Upload 2.0 and `twine upload --attestations`, served
back by the Integrity API and linked from the index; mismatches refused with a notice.

The tokens carry a trusted publisher as trusted publishing mints them (issue 15's mint
endpoint is another branch): the test writes them into the stack's token table directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import boto3
import pytest
import requests

from chalicelib.adapters.dynamo_tokens import DynamoTokenStore
from chalicelib.domain.clock import utcnow
from chalicelib.domain.tokens import Role, TokenRequest, new_record, new_secret
from tests.attestation_fixtures import (
    GITHUB,
    GITLAB,
    OTHER_GITLAB,
    PYPI_ATTESTATIONS,
    Attested,
    needs_real_date,
    tampered_sdist,
)
from tests.e2e.conftest import BIN, free_port, start_stack

pytestmark = [pytest.mark.e2e, needs_real_date]

V2 = "application/vnd.pypi.upload.v2+json"
META = {"api-version": "2.0"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    port = free_port()
    running = start_stack(
        tmp_path_factory.mktemp("attest"),
        admin_token="wharf_e2e-attest-admin",
        port=port,
        extra_env={"WHARF_PUBLIC_URL": f"http://127.0.0.1:{port}"},
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def mint(stack):
    """A token as trusted publishing mints it (an upload token with its CI identity)."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="wharf-local",
        aws_secret_access_key="wharf-local",
    )
    tokens = DynamoTokenStore(dynamodb, "wharf-local-state")

    def _mint(publisher, project: str) -> str:
        secret = new_secret()
        request = TokenRequest(role=Role.UPLOAD, projects=[project])
        record = new_record(request, secret, utcnow()).model_copy(update={"publisher": publisher})
        tokens.add(record, expire_at=None)
        return secret

    return _mint


def _call(stack, secret, method, url, body=None, *, raw=None, content_type=None):
    headers = {"Accept": V2}
    if body is not None:
        raw, content_type = json.dumps({"meta": META, **body}).encode(), V2
    if content_type:
        headers["Content-Type"] = content_type
    return requests.request(
        method, url, data=raw, headers=headers, auth=("__token__", secret), timeout=30
    )


def _wait(check, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} never happened")


def upload_2(stack, secret, fixture: Attested, data: bytes, attestations: bytes):
    """Upload 2.0 as a client follows it: session, file, attestations, bytes, complete."""
    session = _call(
        stack,
        secret,
        "POST",
        f"{stack.url}/upload/",
        {"name": fixture.project, "version": fixture.version},
    )
    assert session.status_code == 201, session.text
    links = session.json()["links"]
    file = _call(
        stack,
        secret,
        "POST",
        links["upload"],
        {
            "filename": fixture.filename,
            "size": len(data),
            "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
            "mechanism": "http-post-bytes",
        },
    )
    assert file.status_code == 202, file.text
    mechanism = file.json()["mechanism"]
    taken = _call(
        stack,
        secret,
        "POST",
        mechanism["attestations_url"],
        raw=attestations,
        content_type="application/json",
    )
    assert taken.status_code == 200, taken.text
    sent = _call(
        stack,
        secret,
        "POST",
        mechanism["file_url"],
        raw=data,
        content_type="application/octet-stream",
    )
    assert sent.status_code == 204, sent.text
    file_url = file.json()["links"]["file-upload-session"]
    assert _call(stack, secret, "POST", f"{file_url}/complete", {}).status_code == 202

    def decided():
        status = _call(stack, secret, "GET", file_url).json()
        return status if status["status"] in ("completed", "error") else None

    return links, _wait(decided, "validation")


def provenance_of(stack, secret, fixture: Attested):
    return requests.get(
        f"{stack.url}/integrity/{fixture.project}/{fixture.version}/{fixture.filename}/provenance",
        auth=("__token__", secret),
        headers={"Accept": "application/vnd.pypi.integrity.v1+json"},
        timeout=30,
    )


def index_entry(stack, secret, project: str) -> dict:
    page = requests.get(
        f"{stack.url}/simple/{project}/",
        auth=("__token__", secret),
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=30,
    )
    assert page.status_code == 200, page.text
    (entry,) = page.json()["files"]
    return entry


def test_upload_2_refuses_a_tampered_file_with_a_notice(stack, mint):
    secret = mint(GITLAB.publisher, GITLAB.project)
    tampered = tampered_sdist(GITLAB)
    # Before the genuine upload below: once published, the filename is taken for good.
    links, file = upload_2(stack, secret, GITLAB, tampered, GITLAB.attestations_json().encode())
    assert file["status"] == "error"
    (notice,) = file["notices"]
    assert notice.startswith(
        "attestation-refused: attestation 1 was made for other contents than this file"
    )
    assert _call(stack, secret, "POST", links["publish"], {}).status_code == 409
    assert _call(stack, secret, "DELETE", links["session"]).status_code == 200


def test_upload_2_attested_release_served_with_provenance(stack, mint, tmp_path):
    """`wharf upload dist/*` sends the attestations lying beside the dist, as uv does."""
    secret = mint(GITLAB.publisher, GITLAB.project)
    dist = tmp_path / "dist"
    dist.mkdir()
    shutil.copy(GITLAB.path, dist)
    shutil.copy(GITLAB.attestation_path, dist)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    env.update(WHARF_URL=stack.url, WHARF_TOKEN=secret)
    uploaded = subprocess.run(
        [str(BIN / "wharf"), "upload", "--json", *sorted(str(p) for p in dist.iterdir())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    events = [json.loads(line) for line in uploaded.stdout.splitlines() if line.startswith("{")]
    sent = [e for e in events if e.get("event") == "attestations-sent"]
    assert [(e["file"], e["count"]) for e in sent] == [(GITLAB.filename, 1)]

    served = provenance_of(stack, secret, GITLAB)
    assert served.status_code == 200
    bundle = served.json()["attestation_bundles"][0]
    assert bundle["publisher"]["repository"] == "facutuesca/gitlab-oidc-project"
    assert bundle["attestations"][0]["envelope"] == GITLAB.attestations()[0]["envelope"]

    url = served.url
    assert index_entry(stack, secret, GITLAB.project)["provenance"] == url
    html = requests.get(
        f"{stack.url}/simple/{GITLAB.project}/", auth=("__token__", secret), timeout=30
    ).text
    assert f'data-provenance="{url}"' in html
    assert provenance_of(stack, mint(GITHUB.publisher, GITHUB.project), GITLAB).status_code == 404


def _twine(stack, secret, tmp: Path, fixture: Attested, attestation: Path):
    dist = tmp / "dist"
    dist.mkdir(exist_ok=True)
    shutil.copy(fixture.path, dist / fixture.filename)
    shutil.copy(attestation, dist / f"{fixture.filename}.publish.attestation")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "WHARF_"))}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [
            str(BIN / "twine"),
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--attestations",
            "--verbose",  # twine prints the body (wharf's reason) only when verbose
            "--repository-url",
            f"{stack.url}/legacy/",
            "-u",
            "__token__",
            "-p",
            secret,
            *map(str, sorted(dist.iterdir())),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_twine_attestations_refused_then_accepted(stack, mint, tmp_path):
    # Another trusted publisher's upload of the GitLab sdist with its genuine attestation.
    other = mint(OTHER_GITLAB, GITLAB.project)
    (tmp_path / "other").mkdir()
    refused = _twine(stack, other, tmp_path / "other", GITLAB, GITLAB.attestation_path)
    assert refused.returncode != 0
    assert (
        "was signed by .gitlab-ci.yml in GitLab repository facutuesca/gitlab-oidc-project, but "
        "this upload came through the trusted publisher .gitlab-ci.yml in GitLab repository "
        "facutuesca/another-project"
    ) in " ".join((refused.stdout + refused.stderr).split())

    secret = mint(GITHUB.publisher, GITHUB.project)
    (tmp_path / "wrong").mkdir()
    mismatched = _twine(stack, secret, tmp_path / "wrong", GITHUB, GITLAB.attestation_path)
    assert mismatched.returncode != 0
    output = " ".join((mismatched.stdout + mismatched.stderr).split())
    assert "Invalid attestations supplied during upload" in output
    assert "was signed by .gitlab-ci.yml in GitLab repository facutuesca/gitlab-oidc-project" in (
        output
    )
    assert provenance_of(stack, secret, GITHUB).status_code == 404

    (tmp_path / "good").mkdir()
    accepted = _twine(stack, secret, tmp_path / "good", GITHUB, GITHUB.attestation_path)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    served = provenance_of(stack, secret, GITHUB)
    assert served.status_code == 200
    assert served.json()["attestation_bundles"][0]["publisher"]["workflow"] == "release.yml"
    assert index_entry(stack, secret, GITHUB.project)["provenance"] == served.url


def test_uv_publish_sends_attestations_beside_the_dist(stack, mint, tmp_path):
    """uv attaches `<dist>.<type>.attestation` files found beside a dist on its own."""
    secret = mint(PYPI_ATTESTATIONS.publisher, PYPI_ATTESTATIONS.project)
    dist = tmp_path / "dist"
    dist.mkdir()
    shutil.copy(PYPI_ATTESTATIONS.path, dist)
    shutil.copy(PYPI_ATTESTATIONS.attestation_path, dist)
    env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_CONFIG": "1"}
    published = subprocess.run(
        [
            str(BIN / "uv"),
            "publish",
            "--publish-url",
            f"{stack.url}/legacy/",
            "--trusted-publishing",
            "never",
            "-u",
            "__token__",
            "-p",
            secret,
            str(dist / "*"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert published.returncode == 0, published.stderr
    served = provenance_of(stack, secret, PYPI_ATTESTATIONS)
    assert served.status_code == 200
    bundle = served.json()["attestation_bundles"][0]
    assert bundle["publisher"]["repository"] == "trailofbits/pypi-attestations"
