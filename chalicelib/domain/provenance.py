"""PEP 740 attestations and provenance as plain data: what an upload may send, the
provenance object wharf serves, and the line a page shows ("published from ... by ...").

Pure: the signatures are checked by ``services/attestation_verifier.py`` (sigstore, imported
only when a file carries attestations); this module only bounds and shapes the JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .identity import IssuerKind, PublisherIdentity

# PyPI accepts at most one attestation per predicate type, and knows two types.
MAX_ATTESTATIONS = 2
# A real attestation is about 10 KB (a certificate, one Rekor entry with its inclusion
# proof, a DSSE envelope); the bound leaves room for long proofs and keeps memory small.
MAX_ATTESTATIONS_BYTES = 128 * 1024
PUBLISH_V1 = "https://docs.pypi.org/attestations/publish/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
PREDICATE_TYPES = (PUBLISH_V1, SLSA_PROVENANCE_V1)
INTEGRITY_MEDIA_TYPE = "application/vnd.pypi.integrity.v1+json"

# Fulcio certificate extensions (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md)
OID_ISSUER = "1.3.6.1.4.1.57264.1.8"
OID_SOURCE_REPOSITORY_URI = "1.3.6.1.4.1.57264.1.12"
OID_BUILD_CONFIG_URI = "1.3.6.1.4.1.57264.1.18"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"


class AttestationsError(ValueError):
    """Attestations that cannot be taken: the message is a sentence for the uploader."""


def parse_attestations(raw: bytes | str) -> list[dict[str, Any]]:
    """A JSON array of PEP 740 attestation objects, bounded and shaped; ``AttestationsError``
    says what is wrong. Signatures are not checked here."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_ATTESTATIONS_BYTES:
        raise AttestationsError(
            f"The attestations are {size} bytes; at most {MAX_ATTESTATIONS_BYTES} are accepted."
        )
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise AttestationsError("The attestations are not valid JSON.") from None
    if not isinstance(value, list):
        raise AttestationsError("The attestations must be a JSON array of attestation objects.")
    if not value:
        raise AttestationsError("An empty attestation set is not permitted.")
    if len(value) > MAX_ATTESTATIONS:
        raise AttestationsError(
            f"At most {MAX_ATTESTATIONS} attestations per file are supported (one per "
            "predicate type)."
        )
    seen: set[str] = set()
    for number, item in enumerate(value, 1):
        problem = _shape_problem(item)
        if problem:
            raise AttestationsError(f"Attestation {number} is malformed: {problem}.")
        predicate = statement_of(item).get("predicateType")
        if predicate not in PREDICATE_TYPES:
            raise AttestationsError(
                f"Attestation {number} has predicate type {str(predicate)[:100]!r}; supported "
                f"are {', '.join(PREDICATE_TYPES)}."
            )
        if predicate in seen:
            raise AttestationsError(
                f"Two attestations have the predicate type {predicate}; one of each is allowed."
            )
        seen.add(predicate)
    return value


def _shape_problem(item: object) -> str | None:
    if not isinstance(item, dict):
        return "not a JSON object"
    if item.get("version") != 1:
        return "'version' must be 1"
    material, envelope = item.get("verification_material"), item.get("envelope")
    if not isinstance(material, dict) or not isinstance(material.get("certificate"), str):
        return "'verification_material.certificate' is missing"
    entries = material.get("transparency_entries")
    if not isinstance(entries, list) or not entries:
        return "'verification_material.transparency_entries' must list at least one entry"
    if not isinstance(envelope, dict):
        return "'envelope' is missing"
    if not all(isinstance(envelope.get(k), str) for k in ("statement", "signature")):
        return "'envelope.statement' and 'envelope.signature' must be base64 strings"
    try:
        statement_of(item)
    except AttestationsError as error:
        return str(error)
    return None


def statement_of(attestation: Mapping[str, Any]) -> dict[str, Any]:
    """The in-toto statement inside an attestation's envelope (unverified)."""
    try:
        decoded = json.loads(base64.b64decode(attestation["envelope"]["statement"], validate=True))
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise AttestationsError("the envelope's statement is not base64 JSON") from None
    if not isinstance(decoded, dict):
        raise AttestationsError("the envelope's statement is not a JSON object")
    return decoded


def subject_of(attestation: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(filename, sha256) the attestation's one subject names, if it names them."""
    try:
        subjects = statement_of(attestation).get("subject")
    except AttestationsError:
        return None, None
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        return None, None
    digest = subjects[0].get("digest")
    name = subjects[0].get("name")
    sha = digest.get("sha256") if isinstance(digest, dict) else None
    return (name if isinstance(name, str) else None), (sha if isinstance(sha, str) else None)


# --- publishers ---------------------------------------------------------------------------


def publisher_of(identity: PublisherIdentity) -> dict[str, Any] | None:
    """The PEP 740 publisher object for a trusted publisher (as PyPI writes it), or ``None``
    for kinds whose signatures cannot be matched (PyPI: "not currently supported")."""
    if identity.kind is IssuerKind.GITHUB:
        return {
            "kind": "GitHub",
            "repository": identity.repository,
            "workflow": identity.workflow,
            "environment": identity.environment,
        }
    if identity.kind is IssuerKind.GITLAB and identity.issuer.rstrip("/") == GITLAB_ISSUER:
        # pypi-attestations checks GitLab signatures against gitlab.com only.
        return {
            "kind": "GitLab",
            "repository": identity.repository,
            "workflow_filepath": identity.workflow,
            "environment": identity.environment,
        }
    return None


def publisher_from_claims(claims: Mapping[str, str]) -> dict[str, Any] | None:
    """The publisher a signing certificate names (GitHub or gitlab.com), or ``None``."""
    issuer = claims.get(OID_ISSUER, "")
    source = claims.get(OID_SOURCE_REPOSITORY_URI, "")
    config = claims.get(OID_BUILD_CONFIG_URI, "").split("@", 1)[0]
    if issuer == GITHUB_ISSUER and source.startswith("https://github.com/"):
        repository = source.removeprefix("https://github.com/")
        marker = f"https://github.com/{repository}/.github/workflows/"
        if config.startswith(marker):
            workflow = config[len(marker) :]
            return {"kind": "GitHub", "repository": repository, "workflow": workflow}
    if issuer == GITLAB_ISSUER and source.startswith("https://gitlab.com/"):
        repository = source.removeprefix("https://gitlab.com/")
        marker = f"https://gitlab.com/{repository}//"
        if config.startswith(marker):
            path = config[len(marker) :]
            return {"kind": "GitLab", "repository": repository, "workflow_filepath": path}
    return None


def describe_signer(claims: Mapping[str, str]) -> str:
    """Who signed, in words, from the certificate's claims."""
    found = publisher_from_claims(claims)
    if found:
        return f"{_workflow_of(found)} in {found['kind']} repository {found['repository']}"
    issuer = claims.get(OID_ISSUER) or "an unknown issuer"
    return f"an identity from {issuer[:200]}"


def _workflow_of(publisher: Mapping[str, Any]) -> str:
    return str(publisher.get("workflow") or publisher.get("workflow_filepath") or "?")


def describe_publisher(publisher: Mapping[str, Any]) -> str:
    """A publisher object in words: "<workflow> in <kind> repository <repository>"."""
    kind, repository = publisher.get("kind"), publisher.get("repository")
    return f"{_workflow_of(publisher)} in {kind} repository {repository}"


def provenance_document(
    publisher: Mapping[str, Any], attestations: list[dict[str, Any]]
) -> dict[str, Any]:
    """The PEP 740 provenance object for one file."""
    return {
        "version": 1,
        "attestation_bundles": [{"publisher": dict(publisher), "attestations": attestations}],
    }


def integrity_url(base: str, project: str, version: str, filename: str) -> str:
    """The Integrity API's provenance URL (as PyPI's), absolute as the simple API requires."""
    return (
        f"{base.rstrip('/')}/integrity/{quote(project)}/{quote(version)}/"
        f"{quote(filename)}/provenance"
    )


# --- what a page shows ----------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedFrom:
    """'published from <repository> by <workflow>' with a link to the repository."""

    kind: str
    repository: str
    workflow: str
    url: str | None

    @property
    def text(self) -> str:
        return f"published from {self.repository} by {self.workflow}"


def published_from(publisher: Mapping[str, Any] | str | None) -> PublishedFrom | None:
    """What a project page shows for a file with verified provenance; ``publisher`` is the
    provenance's publisher object (or ``FileEntry.provenance_publisher``, its JSON)."""
    if isinstance(publisher, str):
        try:
            publisher = json.loads(publisher)
        except ValueError:
            return None
    if not isinstance(publisher, Mapping):
        return None
    repository = str(publisher.get("repository") or "")
    if not repository:
        return None
    kind = str(publisher.get("kind") or "")
    hosts = {"GitHub": "https://github.com/", "GitLab": "https://gitlab.com/"}
    url = hosts[kind] + quote(repository) if kind in hosts else None
    return PublishedFrom(kind, repository, _workflow_of(publisher), url)


def compact_publisher(publisher: Mapping[str, Any]) -> str:
    """The publisher as the catalog keeps it on a file (small, sorted JSON)."""
    return json.dumps(dict(publisher), sort_keys=True, separators=(",", ":"))
