"""Real PEP 740 attestations (tests/fixtures/attestations, from pypi-attestations' sdist; see
its NOTICE) and the trusted publishers that signed them."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib.domain.identity import IssuerKind, PublisherIdentity
from chalicelib.domain.tokens import Principal, Role

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "attestations"


@dataclass(frozen=True)
class Attested:
    project: str
    version: str
    filename: str
    publisher: PublisherIdentity

    @property
    def path(self) -> Path:
        return FIXTURES / self.filename

    @property
    def attestation_path(self) -> Path:
        return FIXTURES / f"{self.filename}.publish.attestation"

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def attestations(self) -> list[dict]:
        return [json.loads(self.attestation_path.read_bytes())]

    def attestations_json(self) -> str:
        return json.dumps(self.attestations())


GITLAB = Attested(
    project="gitlab-oidc-project",
    version="0.0.3",
    filename="gitlab_oidc_project-0.0.3.tar.gz",
    publisher=PublisherIdentity(
        publisher_id="tp-gitlab",
        kind=IssuerKind.GITLAB,
        issuer="https://gitlab.com",
        repository="facutuesca/gitlab-oidc-project",
        workflow=".gitlab-ci.yml",
        environment="release",
    ),
)
GITHUB = Attested(
    project="pypi-attestation-models",
    version="0.0.4a2",
    filename="pypi_attestation_models-0.0.4a2.tar.gz",
    publisher=PublisherIdentity(
        publisher_id="tp-github",
        kind=IssuerKind.GITHUB,
        issuer="https://token.actions.githubusercontent.com",
        repository="trailofbits/pypi-attestation-models",
        workflow="release.yml",
    ),
)
PYPI_ATTESTATIONS = Attested(
    project="pypi-attestations",
    version="0.0.19",
    filename="pypi_attestations-0.0.19.tar.gz",
    publisher=PublisherIdentity(
        publisher_id="tp-github-2",
        kind=IssuerKind.GITHUB,
        issuer="https://token.actions.githubusercontent.com",
        repository="trailofbits/pypi-attestations",
        workflow="release.yml",
    ),
)
# Another GitLab project's publisher: the same issuer, another repository.
OTHER_GITLAB = GITLAB.publisher.model_copy(update={"repository": "facutuesca/another-project"})


def principal_for(publisher: PublisherIdentity | None, project: str) -> Principal:
    """What a token minted by trusted publishing authenticates as (issue 15's shape)."""
    return Principal(
        token_id=f"tp-{project}", role=Role.UPLOAD, projects=(project,), publisher=publisher
    )


# sigstore checks its trust root's validity windows against the wall clock (not wharf's
# clock): under a clock moved before the signing keys existed, nothing can verify.
needs_real_date = pytest.mark.skipif(
    datetime.now(UTC) < datetime(2025, 10, 1, tzinfo=UTC),
    reason="sigstore's trust root is not yet valid at this (moved) wall-clock date",
)


def tampered_sdist(fixture: Attested) -> bytes:
    """The sdist with a line added to its README, repacked: still a valid sdist, other bytes."""
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(fixture.data), mode="r:gz") as source,
        tarfile.open(fileobj=out, mode="w:gz") as target,
    ):
        for member in source.getmembers():
            handle = source.extractfile(member) if member.isfile() else None
            data = handle.read() if handle else None
            if data is not None and member.name.endswith("README.md"):
                data += b"\ntampered\n"
                member.size = len(data)
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    return out.getvalue()
