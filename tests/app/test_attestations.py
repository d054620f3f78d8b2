"""PEP 740 over HTTP: attestations_url in both mechanisms, the legacy field, the Integrity API
and the index's provenance links, with real production-signed fixtures."""

from __future__ import annotations

import json

import pytest
from urllib3 import encode_multipart_formdata

from chalicelib.domain.tokens import Role, TokenRequest, new_record, new_secret
from tests.attestation_fixtures import GITHUB, GITLAB, OTHER_GITLAB, needs_real_date
from tests.conftest import basic
from tests.upload_client import META, UploadClient, deliver_events

pytestmark = [pytest.mark.memory, needs_real_date]

PUBLIC = "https://wharf.example.com"
INTEGRITY = "application/vnd.pypi.integrity.v1+json"


@pytest.fixture
def public(rebuild):
    """Provenance links are absolute: the deployment knows its public URL."""
    return rebuild(public_url=PUBLIC)


@pytest.fixture
def minted(public, clock):
    """A token as trusted publishing mints it: an upload token carrying its publisher."""

    def _mint(publisher, project: str) -> str:
        secret = new_secret()
        request = TokenRequest(role=Role.UPLOAD, projects=[project])
        record = new_record(request, secret, clock()).model_copy(update={"publisher": publisher})
        public.stores.tokens.add(record, expire_at=None)
        return secret

    return _mint


def _attested_file(client: UploadClient, fixture, mechanism: str = "http-post-bytes"):
    session = client.create(fixture.project, fixture.version)
    assert session.status == 201, session
    file = client.add_file(session, fixture.filename, fixture.data, mechanism=mechanism)
    assert file.status == 202, file
    return session, file


def _post_attestations(client, file, body: bytes, content_type="application/json"):
    return client.call(
        "POST",
        file.json["mechanism"]["attestations_url"],
        headers={"Content-Type": content_type},
        raw=body,
    )


def _publish(client, session, file, app_client, aws):
    assert client.send_bytes(file, GITLAB.data).status == 204
    assert client.complete(file).status == 202
    deliver_events(app_client, aws)
    done = client.file_status(file)
    assert done.json["status"] == "completed", done.json
    assert client.call("POST", session.json["links"]["publish"], {"meta": META}).status == 202
    deliver_events(app_client, aws)


def test_upload_2_attested_file_is_served_with_provenance(http, app_client, aws, minted):
    secret = minted(GITLAB.publisher, GITLAB.project)
    client = UploadClient(http, secret)
    session, file = _attested_file(client, GITLAB)
    assert file.json["mechanism"]["attestations_url"].endswith(
        f"/files/{file.json['links']['file-upload-session'].rsplit('/', 1)[1]}/attestations"
    )
    taken = _post_attestations(client, file, GITLAB.attestations_json().encode())
    assert (taken.status, taken.json["attestations"]) == (200, 1)
    _publish(client, session, file, app_client, aws)

    path = f"/integrity/{GITLAB.project}/0.0.3/{GITLAB.filename}/provenance"
    served = http.get(path, headers=basic(secret))
    assert served.status_code == 200
    assert served.headers["Content-Type"] == INTEGRITY
    provenance = json.loads(served.body)
    assert provenance["attestation_bundles"][0]["publisher"] == {
        "kind": "GitLab",
        "repository": "facutuesca/gitlab-oidc-project",
        "workflow_filepath": ".gitlab-ci.yml",
        "environment": "release",
    }
    as_json = http.get(path, headers={**basic(secret), "Accept": "application/json"})
    assert as_json.headers["Content-Type"] == "application/json"
    assert http.get(path, headers={**basic(secret), "Accept": "text/html"}).status_code == 406
    assert http.get(path).status_code == 401

    url = f"{PUBLIC}{path}"
    page = http.get(
        f"/simple/{GITLAB.project}/",
        headers={**basic(secret), "Accept": "application/vnd.pypi.simple.v1+json"},
    )
    (entry,) = json.loads(page.body)["files"]
    assert entry["provenance"] == url
    html = http.get(f"/simple/{GITLAB.project}/", headers=basic(secret)).body.decode()
    assert f'data-provenance="{url}"' in html
    # The project page, for people: where the file was built, linked.
    shown = http.get(f"/project/{GITLAB.project}/", headers=basic(secret)).body.decode()
    assert (
        '<a href="https://gitlab.com/facutuesca/gitlab-oidc-project" rel="noopener">'
        "published from facutuesca/gitlab-oidc-project by .gitlab-ci.yml</a>"
    ) in shown


def test_a_reader_of_another_project_gets_404(http, app_client, aws, minted, issue):
    secret = minted(GITLAB.publisher, GITLAB.project)
    client = UploadClient(http, secret)
    session, file = _attested_file(client, GITLAB)
    _post_attestations(client, file, GITLAB.attestations_json().encode())
    _publish(client, session, file, app_client, aws)
    path = f"/integrity/{GITLAB.project}/0.0.3/{GITLAB.filename}/provenance"
    stranger = issue("upload", ("acme-*",))
    missing = http.get(path, headers=basic(stranger))
    assert missing.status_code == 404
    assert http.get(path, headers=basic(issue("read"))).status_code == 200


def test_the_multipart_mechanism_offers_attestations_too(http, minted):
    client = UploadClient(http, minted(GITLAB.publisher, GITLAB.project))
    _, file = _attested_file(client, GITLAB, mechanism="vnd-wharf-s3multipart-presigned-v1")
    assert file.json["mechanism"]["identifier"] == "vnd-wharf-s3multipart-presigned-v1"
    assert _post_attestations(client, file, GITLAB.attestations_json().encode()).status == 200


def test_a_mismatched_attestation_leaves_the_file_in_error_with_a_notice(
    http, app_client, aws, minted
):
    client = UploadClient(http, minted(OTHER_GITLAB, GITLAB.project))
    session, file = _attested_file(client, GITLAB)
    assert _post_attestations(client, file, GITLAB.attestations_json().encode()).status == 200
    client.send_bytes(file, GITLAB.data)
    client.complete(file)
    deliver_events(app_client, aws)
    status = client.file_status(file).json
    assert status["status"] == "error"
    assert status["notices"] == [
        "attestation-refused: attestation 1 was signed by .gitlab-ci.yml in GitLab repository "
        "facutuesca/gitlab-oidc-project, but this upload came through the trusted publisher "
        ".gitlab-ci.yml in GitLab repository facutuesca/another-project"
    ]
    published = client.call("POST", session.json["links"]["publish"], {"meta": META})
    assert published.status == 409


@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        (b"[]", "application/json", 400, "empty attestation set"),
        (b"{", "application/json", 400, "not valid JSON"),
        (b"[{}]", "application/json", 400, "Attestation 1 is malformed"),
        (b"[]", "text/plain", 415, "application/json"),
    ],
)
def test_bad_attestations_get_a_problem_document(http, minted, body, content_type, status, detail):
    client = UploadClient(http, minted(GITLAB.publisher, GITLAB.project))
    _, file = _attested_file(client, GITLAB)
    reply = _post_attestations(client, file, body, content_type)
    assert reply.status == status
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert detail in reply.json["detail"]


def test_plain_tokens_may_not_attest_by_default(http, issue, public):
    client = UploadClient(http, issue("upload", (GITLAB.project,)))
    _, file = _attested_file(client, GITLAB)
    reply = _post_attestations(client, file, GITLAB.attestations_json().encode())
    assert reply.status == 400
    assert "only supported when using Trusted Publishing" in reply.json["detail"]


def test_attestations_after_completion_are_a_conflict(http, minted):
    client = UploadClient(http, minted(GITLAB.publisher, GITLAB.project))
    _, file = _attested_file(client, GITLAB)
    client.send_bytes(file, GITLAB.data)
    client.complete(file)
    late = _post_attestations(client, file, GITLAB.attestations_json().encode())
    assert late.status == 409


def _legacy(http, secret, fixture, attestations: str):
    body, content_type = encode_multipart_formdata(
        [
            (":action", "file_upload"),
            ("protocol_version", "1"),
            ("name", fixture.project),
            ("version", fixture.version),
            ("filetype", "sdist"),
            ("attestations", attestations),
            ("content", (fixture.filename, fixture.data, "application/octet-stream")),
        ]
    )
    headers = {**basic(secret), "Content-Type": content_type}
    return http.post("/legacy/", headers=headers, body=body)


def test_legacy_attestations_field(http, minted):
    secret = minted(GITHUB.publisher, GITHUB.project)
    refused = _legacy(http, secret, GITHUB, GITLAB.attestations_json())
    assert refused.status_code == 400
    assert refused.body.decode().startswith(
        "400 Invalid attestations supplied during upload: attestation-refused: attestation 1 "
        "was signed by .gitlab-ci.yml in GitLab repository facutuesca/gitlab-oidc-project"
    )
    accepted = _legacy(http, secret, GITHUB, GITHUB.attestations_json())
    assert accepted.status_code == 200, accepted.body
    path = f"/integrity/{GITHUB.project}/{GITHUB.version}/{GITHUB.filename}/provenance"
    served = http.get(path, headers=basic(secret))
    assert served.status_code == 200
    assert json.loads(served.body)["attestation_bundles"][0]["publisher"]["workflow"] == (
        "release.yml"
    )
