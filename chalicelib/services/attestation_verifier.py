"""Checking PEP 740 attestations with pypi-attestations (sigstore underneath), offline.

``pypi_attestations`` and sigstore are imported inside ``verify`` only: they add about
200 ms of CPU to a cold start and 37 MB installed (docs/attestations.md), and only a file
that carries attestations needs them. Verification is offline: the trust root is the one
the pinned sigstore release ships (how it is kept current: docs/attestations.md). sigstore
keeps a copy of it under ``$XDG_CACHE_HOME`` (``/tmp`` on Lambda, .chalice/config.json).
Both come from the provenance layer on Lambda (chalicelib/provenance_layer.py): without it,
``verify`` raises ``ProvenanceLayerMissing`` (after an error log) and nothing is decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.provenance import (
    describe_publisher,
    describe_signer,
    publisher_from_claims,
    subject_of,
)
from ..observability import logger
from ..provenance_layer import require_provenance_layer

NOTICE_CODE = "attestation-refused"
# Library messages can embed a certificate extension's repr; a notice stays readable.
_MAX_DETAIL = 300


@dataclass(frozen=True)
class Verified:
    """Attestations that hold for a file: the attestations as PyPI re-serialises them and
    the publisher they were checked against (or, for a plain token, read from them)."""

    attestations: list[dict[str, Any]]
    publisher: dict[str, Any]


class AttestationRefused(Exception):
    def __init__(self, notices: list[str]) -> None:
        super().__init__("; ".join(notices))
        self.notices = notices


def _same_identity(found: Mapping[str, Any] | None, expected: Mapping[str, Any]) -> bool:
    if found is None or found.get("kind") != expected.get("kind"):
        return False
    workflow = ("workflow", "workflow_filepath")
    return str(found.get("repository")).lower() == str(expected.get("repository")).lower() and (
        [found.get(k) for k in workflow] == [expected.get(k) for k in workflow]
    )


def _notice(text: str) -> str:
    return f"{NOTICE_CODE}: {text}"


class AttestationVerifier:
    """Verifies every attestation of a file against its name, its SHA-256 and a publisher."""

    def verify(
        self,
        attestations: list[dict[str, Any]],
        *,
        filename: str,
        sha256: str,
        expected: Mapping[str, Any] | None,
    ) -> Verified:
        """``expected`` is the trusted publisher's PEP 740 publisher object; ``None`` (a plain
        token the operator lets attest) records the signer the certificate names instead.
        Raises ``AttestationRefused`` with one notice per failing attestation."""
        require_provenance_layer()
        from pydantic import TypeAdapter, ValidationError
        from pypi_attestations import Attestation, Distribution, Publisher, VerificationError

        dist = Distribution(name=filename, digest=sha256)
        publisher = dict(expected) if expected is not None else None
        notices: list[str] = []
        verified: list[dict[str, Any]] = []
        for number, raw in enumerate(attestations, 1):
            try:
                attestation = Attestation.model_validate(raw)
                claims = attestation.certificate_claims
            except (ValidationError, ValueError):
                notices.append(_notice(f"attestation {number} cannot be read (bad certificate)"))
                continue
            identity = publisher
            if expected is None:
                found = publisher_from_claims(claims)
                if found is None:
                    notices.append(
                        _notice(
                            f"attestation {number} was signed by {describe_signer(claims)}; "
                            "wharf records GitHub and GitLab (gitlab.com) signers only"
                        )
                    )
                    continue
                if publisher is not None and not _same_identity(found, publisher):
                    notices.append(_notice("the attestations were signed by different workflows"))
                    continue
                identity = publisher = found
            assert identity is not None
            try:
                model = TypeAdapter(Publisher).validate_python(identity)
                attestation.verify(model, dist, offline=True)
            except VerificationError as error:
                notices.append(_explain(number, raw, claims, filename, sha256, identity, error))
                continue
            except Exception as error:
                # A broken transparency entry or proof: refuse, and keep the detail in the log.
                logger.warning(
                    "attestation could not be verified",
                    extra={"file": filename, "error": f"{type(error).__name__}: {error}"[:500]},
                )
                notices.append(
                    _notice(f"attestation {number} could not be verified ({type(error).__name__})")
                )
                continue
            verified.append(attestation.model_dump(mode="json"))
            if expected is None:
                # Recorded as pypi-attestations writes a publisher (environment: null).
                publisher = model.model_dump(mode="json")
        if notices:
            raise AttestationRefused(notices)
        assert publisher is not None
        return Verified(attestations=verified, publisher=publisher)


def _explain(
    number: int,
    raw: Mapping[str, Any],
    claims: Mapping[str, str],
    filename: str,
    sha256: str,
    expected: Mapping[str, Any],
    error: Exception,
) -> str:
    """Why an attestation failed, in wharf's words (the library's text can hold a raw
    certificate extension); the library's text goes to the log."""
    logger.info("attestation refused", extra={"file": filename, "error": str(error)[:500]})
    name, digest = subject_of(raw)
    if not _same_identity(publisher_from_claims(claims), expected):
        return _notice(
            f"attestation {number} was signed by {describe_signer(claims)}, but this "
            f"upload came through the trusted publisher {describe_publisher(expected)}"
        )
    if name is not None and name != filename:
        return _notice(f"attestation {number} is for the file {name[:200]}, not {filename}")
    if digest is not None and digest.lower() != sha256:
        return _notice(
            f"attestation {number} was made for other contents than this file (its "
            f"sha256 is {digest[:64]}, the file's is {sha256})"
        )
    return _notice(f"attestation {number} did not verify: {str(error)[:_MAX_DETAIL]}")
