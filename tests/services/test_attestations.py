"""PEP 740 attestations through the services, with real production-signed fixtures and the
real verifier (pypi-attestations, offline): accepted, refused with a reason, served."""

from __future__ import annotations

import hashlib
import json

import pytest

from chalicelib import wiring
from chalicelib.domain.errors import FileNotPendingError, InvalidRequestError, NotFoundError
from chalicelib.domain.layout import published_provenance_key
from chalicelib.domain.provenance import published_from
from chalicelib.domain.tokens import Principal, Role
from chalicelib.services.legacy import LegacyUpload
from chalicelib.services.mechanisms import TransferRequest
from chalicelib.settings import Settings
from tests.attestation_fixtures import (
    FIXTURES,
    GITHUB,
    GITLAB,
    OTHER_GITLAB,
    Attested,
    needs_real_date,
    principal_for,
    tampered_sdist,
)
from tests.fakes import memory_stores

pytestmark = needs_real_date

PUBLIC = "https://wharf.example.com"


class Attesting:
    def __init__(self, clock, **settings) -> None:
        self.stores, self.memory, self.bucket = memory_stores()
        base = Settings(
            queue_arn="arn:aws:sqs:us-east-1:000000000000:wharf",
            table_name="unused",
            bucket_name="unused",
            public_url=PUBLIC,
        )
        self.wharf = wiring.build(base.model_copy(update=settings), clock=clock, stores=self.stores)

    def deliver(self) -> list[str]:
        from chalicelib.events.storage import handle_staged_object

        outcomes = []
        while events := self.bucket.take_events():
            for key, size in events:
                outcomes.append(handle_staged_object(self.wharf, key, size, attempt=1))
        return outcomes

    def upload(
        self,
        fixture: Attested,
        who: Principal,
        *,
        data: bytes | None = None,
        attestations: bytes | None = None,
    ):
        """Create a file, post its attestations, send its bytes and complete it."""
        data = fixture.data if data is None else data
        token = self.wharf.sessions.create(who, fixture.project, fixture.version).token
        from tests.builders import sha256

        view = self.wharf.files.create(
            who,
            token,
            filename=fixture.filename,
            size=len(data),
            hashes={"sha256": sha256(data)},
            mechanism="http-post-bytes",
        )
        file_id = view.file.file_id
        body = fixture.attestations_json().encode() if attestations is None else attestations
        self.wharf.provenance.submit(who, token, file_id, body, "application/json")
        request = TransferRequest("POST", "application/octet-stream", data)
        self.wharf.files.transfer(who, token, file_id, "http-post-bytes", "bytes", request)
        self.wharf.files.complete(who, token, file_id)
        self.deliver()
        return token, self.wharf.files.view(who, token, file_id)


@pytest.fixture
def world(clock) -> Attesting:
    return Attesting(clock)


@pytest.mark.parametrize("fixture", [GITLAB, GITHUB], ids=["gitlab", "github"])
def test_a_trusted_publishers_attested_file_is_published_with_its_provenance(world, fixture):
    who = principal_for(fixture.publisher, fixture.project)
    token, view = world.upload(fixture, who)
    assert str(view.status) == "completed", view.file.notices
    world.wharf.publisher.request(who, token)
    world.deliver()

    served = json.loads(
        world.wharf.provenance.provenance(who, fixture.project, fixture.version, fixture.filename)
    )
    bundle = served["attestation_bundles"][0]
    assert served["version"] == 1
    assert bundle["publisher"]["repository"] == fixture.publisher.repository
    assert bundle["publisher"]["environment"] == fixture.publisher.environment
    assert bundle["attestations"][0]["envelope"] == fixture.attestations()[0]["envelope"]

    page = world.wharf.publisher.project_page(fixture.project)
    assert page is not None
    (entry,) = page.files
    assert page.provenance_url(entry) == (
        f"{PUBLIC}/integrity/{fixture.project}/{fixture.version}/{fixture.filename}/provenance"
    )
    shown = published_from(entry.provenance_publisher)
    assert shown is not None
    assert shown.text == (
        f"published from {fixture.publisher.repository} by {fixture.publisher.workflow}"
    )


def test_the_provenance_object_has_pypis_shape():
    """What wharf serves parses as pypi-attestations' Provenance, as PyPI's own does."""
    from pypi_attestations import Provenance

    from chalicelib.domain.provenance import provenance_document

    pypis = json.loads((FIXTURES / "pypi_attestations-0.0.19.tar.gz.provenance").read_text())
    Provenance.model_validate(pypis)
    ours = provenance_document(
        {"kind": "GitLab", "repository": "r", "workflow_filepath": "w", "environment": None},
        GITLAB.attestations(),
    )
    assert set(ours) == set(pypis)
    assert Provenance.model_validate(ours).attestation_bundles[0].publisher.kind == "GitLab"


def _refused(world, fixture, who, **kwargs) -> list[str]:
    _, view = world.upload(fixture, who, **kwargs)
    assert str(view.status) == "error"
    with pytest.raises(NotFoundError):
        world.wharf.provenance.provenance(who, fixture.project, fixture.version, fixture.filename)
    return list(view.file.notices)


def test_a_tampered_file_is_refused(world):
    """A valid sdist (so the validator passes it) whose bytes the attestation does not sign."""
    who = principal_for(GITLAB.publisher, GITLAB.project)
    tampered = tampered_sdist(GITLAB)
    notices = _refused(world, GITLAB, who, data=tampered)
    assert notices == [
        "attestation-refused: attestation 1 was made for other contents than this file (its "
        f"sha256 is {GITLAB.sha256}, the file's is {hashlib.sha256(tampered).hexdigest()})"
    ]


def test_another_publishers_upload_is_refused(world):
    who = principal_for(OTHER_GITLAB, GITLAB.project)
    (notice,) = _refused(world, GITLAB, who)
    assert notice == (
        "attestation-refused: attestation 1 was signed by .gitlab-ci.yml in GitLab repository "
        "facutuesca/gitlab-oidc-project, but this upload came through the trusted publisher "
        ".gitlab-ci.yml in GitLab repository facutuesca/another-project"
    )


def test_another_files_attestation_is_refused(world):
    who = principal_for(GITLAB.publisher, GITLAB.project)
    (notice,) = _refused(world, GITLAB, who, attestations=GITHUB.attestations_json().encode())
    assert notice.startswith(
        "attestation-refused: attestation 1 was signed by release.yml in GitHub repository "
        "trailofbits/pypi-attestation-models"
    )


def test_a_plain_token_may_not_attest_unless_the_operator_allows(world, clock):
    plain = principal_for(None, GITLAB.project)
    with pytest.raises(InvalidRequestError, match="only supported when using Trusted Publishing"):
        world.upload(GITLAB, plain)

    allowing = Attesting(clock, allow_token_attestations=True)
    token, view = allowing.upload(GITLAB, plain)
    assert str(view.status) == "completed"
    allowing.wharf.publisher.request(plain, token)
    allowing.deliver()
    served = json.loads(
        allowing.wharf.provenance.provenance(plain, GITLAB.project, "0.0.3", GITLAB.filename)
    )
    # Recorded from the certificate, not matched against anything.
    assert served["attestation_bundles"][0]["publisher"] == {
        "kind": "GitLab",
        "repository": "facutuesca/gitlab-oidc-project",
        "workflow_filepath": ".gitlab-ci.yml",
        "environment": None,
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{}", "must be a JSON array"),
        (b"[]", "empty attestation set"),
        (b"not json", "not valid JSON"),
        (b"[1]", "Attestation 1 is malformed: not a JSON object"),
        (b"[" + b"1," * 100_000 + b"1]", "at most 131072 are accepted"),
    ],
)
def test_malformed_attestations_are_refused_at_once(world, body, message):
    who = principal_for(GITLAB.publisher, GITLAB.project)
    with pytest.raises(InvalidRequestError, match=message):
        world.upload(GITLAB, who, attestations=body)
    assert not [k for k in world.bucket.objects if k.endswith("attestations.json")]


def test_attestations_after_completion_are_refused(world):
    who = principal_for(GITLAB.publisher, GITLAB.project)
    token, view = world.upload(GITLAB, who)
    with pytest.raises(FileNotPendingError, match="before the file is completed"):
        world.wharf.provenance.submit(
            who, token, view.file.file_id, GITLAB.attestations_json().encode(), "application/json"
        )


def test_provenance_is_read_like_the_file(world):
    who = principal_for(GITLAB.publisher, GITLAB.project)
    token, _ = world.upload(GITLAB, who)
    world.wharf.publisher.request(who, token)
    world.deliver()
    stranger = Principal(token_id="x", role=Role.UPLOAD, projects=("other",))
    reader = Principal(token_id="r", role=Role.READ)
    with pytest.raises(NotFoundError):
        world.wharf.provenance.provenance(stranger, GITLAB.project, "0.0.3", GITLAB.filename)
    with pytest.raises(NotFoundError):  # another version's path
        world.wharf.provenance.provenance(reader, GITLAB.project, "0.0.4", GITLAB.filename)
    assert world.wharf.provenance.provenance(reader, GITLAB.project, "0.0.3", GITLAB.filename)
    assert published_provenance_key(GITLAB.project, GITLAB.filename) in world.bucket.objects


def _legacy(fixture: Attested, data: bytes | None = None, attestations: str | None = None):
    fields = {":action": ["file_upload"], "protocol_version": ["1"], "name": [fixture.project]}
    fields["version"] = [fixture.version]
    fields["attestations"] = [fixture.attestations_json() if attestations is None else attestations]
    return LegacyUpload(fields=fields, filename=fixture.filename, content=data or fixture.data)


def test_legacy_attestations_are_verified_in_the_request(world):
    who = principal_for(GITHUB.publisher, GITHUB.project)
    result = world.wharf.legacy.upload(who, _legacy(GITHUB))
    assert result.published
    served = json.loads(
        world.wharf.provenance.provenance(who, GITHUB.project, GITHUB.version, GITHUB.filename)
    )
    assert served["attestation_bundles"][0]["publisher"]["workflow"] == "release.yml"


def test_legacy_refuses_a_mismatched_attestation_and_keeps_nothing(world):
    who = principal_for(GITLAB.publisher, GITLAB.project)
    with pytest.raises(InvalidRequestError, match="Invalid attestations supplied during upload"):
        world.wharf.legacy.upload(who, _legacy(GITLAB, attestations=GITHUB.attestations_json()))
    assert world.wharf.publisher.project_page(GITLAB.project) is None
    assert not world.bucket.objects


def _verify(fixture: Attested, attestations: list[dict], filename: str | None = None):
    from chalicelib.domain.provenance import publisher_of
    from chalicelib.services.attestation_verifier import AttestationVerifier

    return AttestationVerifier().verify(
        attestations,
        filename=filename or fixture.filename,
        sha256=fixture.sha256,
        expected=publisher_of(fixture.publisher),
    )


def test_an_attestation_for_another_filename_is_named():
    from chalicelib.services.attestation_verifier import AttestationRefused

    other = "pypi_attestation_models-0.0.4a3.tar.gz"
    with pytest.raises(AttestationRefused) as refused:
        _verify(GITHUB, GITHUB.attestations(), filename=other)
    assert refused.value.notices == [
        "attestation-refused: attestation 1 is for the file "
        f"pypi_attestation_models-0.0.4a2.tar.gz, not {other}"
    ]


def test_a_forged_signature_does_not_verify():
    import base64

    from chalicelib.services.attestation_verifier import AttestationRefused

    (forged,) = GITLAB.attestations()
    signature = bytearray(base64.b64decode(forged["envelope"]["signature"]))
    signature[10] ^= 0xFF
    forged["envelope"]["signature"] = base64.b64encode(bytes(signature)).decode()
    with pytest.raises(AttestationRefused) as refused:
        _verify(GITLAB, [forged])
    assert refused.value.notices == [
        "attestation-refused: attestation 1 did not verify: Verification failed: DSSE: invalid "
        "signature"
    ]


def test_a_publisher_whose_signers_cannot_be_matched_may_not_attest(world):
    self_managed = GITLAB.publisher.model_copy(update={"issuer": "https://gitlab.acme.test"})
    who = principal_for(self_managed, GITLAB.project)
    with pytest.raises(
        InvalidRequestError, match=r"a gitlab publisher at https://gitlab\.acme\.test"
    ):
        world.upload(GITLAB, who)
