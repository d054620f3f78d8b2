"""PEP 740 attestations: taken with an upload (Upload 2.0's ``attestations_url``, the legacy
``attestations`` field), verified with the file, and served as provenance (Integrity API).

Who may attest: a token minted by trusted publishing, whose publisher the signer must be;
a plain token only when the operator allows it, and then the signer is recorded, not
matched (docs/attestations.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from ..domain.catalog import ProjectStatus
from ..domain.errors import (
    FileNotPendingError,
    InvalidRequestError,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from ..domain.layout import (
    published_provenance_key,
    staged_attestations_key,
    staged_provenance_key,
)
from ..domain.lifecycle import FileStatus
from ..domain.provenance import (
    INTEGRITY_MEDIA_TYPE,
    MAX_ATTESTATIONS_BYTES,
    AttestationsError,
    compact_publisher,
    parse_attestations,
    provenance_document,
    publisher_of,
)
from ..observability import logger
from .attestation_verifier import AttestationRefused, AttestationVerifier

if TYPE_CHECKING:
    from ..domain.ports import Catalog, Clock, ObjectStore, SessionRepository, StagingStorage
    from ..domain.sessions import FileRecord
    from ..domain.tokens import Principal
    from .sessions import PublishingSessions

ATTESTATIONS = "attestations"


@dataclass(frozen=True)
class Provenance:
    """A verified provenance object, ready to store beside its file."""

    body: bytes
    publisher: str  # compact JSON of the PEP 740 publisher (FileEntry.provenance_publisher)


def _refused(error: AttestationRefused) -> InvalidRequestError:
    """400, in PyPI's words, with each attestation's notice."""
    return InvalidRequestError(
        "Invalid attestations supplied during upload: " + "; ".join(error.notices),
        errors=[
            {"source": ATTESTATIONS, "code": "attestation-refused", "message": n}
            for n in error.notices
        ],
    )


class Provenances:
    def __init__(
        self,
        sessions: PublishingSessions,
        store: SessionRepository,
        staging: StagingStorage,
        catalog: Catalog,
        objects: ObjectStore,
        clock: Clock,
        verifier: AttestationVerifier,
        *,
        allow_token_attestations: bool,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._staging = staging
        self._catalog = catalog
        self._objects = objects
        self._clock = clock
        self._verifier = verifier
        self._allow_tokens = allow_token_attestations

    def expected_publisher(self, principal: Principal) -> dict[str, Any] | None:
        """The publisher a caller's attestations must be signed by (``None``: a plain token
        the operator lets attest, whose signer is recorded). ``InvalidRequestError`` when the
        caller may not attest at all."""
        if principal.publisher is not None:
            publisher = publisher_of(principal.publisher)
            if publisher is None:
                raise InvalidRequestError(
                    "Attestations are supported from GitHub and gitlab.com trusted publishers "
                    f"only; this upload came through a {principal.publisher.kind} publisher at "
                    f"{principal.publisher.issuer}."
                )
            return publisher
        if self._allow_tokens:
            return None
        raise InvalidRequestError(
            "Attestations are only supported when using Trusted Publishing (this index does "
            "not take them from API tokens)."
        )

    # --- Upload 2.0: attestations_url -------------------------------------------------------

    def submit(
        self, principal: Principal, token: str, file_id: str, body: bytes, content_type: str
    ) -> int:
        """Keep a pending file's attestations (replacing any posted before) until the file
        is completed and validated; how many were taken."""
        session = self._sessions.load_live(principal, token)
        session.require_editable(self._clock())
        record = self._store.get_file(token, file_id)
        status = record.effective_status(session, self._clock()) if record else None
        if record is None or status is FileStatus.CANCELED:
            raise NotFoundError("No such file upload session.")
        if record.status is not FileStatus.PENDING:
            raise FileNotPendingError(
                f"The file upload session is {record.status}; attestations must be uploaded "
                "before the file is completed."
            )
        if content_type != "application/json":
            raise UnsupportedMediaTypeError("Send the attestations as application/json.")
        expected = self.expected_publisher(principal)
        try:
            attestations = parse_attestations(body)
        except AttestationsError as error:
            raise InvalidRequestError(
                str(error), errors=[{"source": ATTESTATIONS, "message": str(error)}]
            ) from None
        kept = {"attestations": attestations, "publisher": expected, "token": principal.token_id}
        self._staging.put_bytes(
            staged_attestations_key(token, file_id),
            json.dumps(kept, separators=(",", ":")).encode(),
            "application/json",
        )
        return len(attestations)

    def check_staged(self, record: FileRecord, sha256: str) -> dict[str, Any]:
        """For the validator: verify the attestations posted for a file it accepts; the
        changes its accepting transition records (none without attestations). Raises
        ``AttestationRefused`` (the notices) when one fails."""
        key = staged_attestations_key(record.session_token, record.file_id)
        info = self._staging.object_info(key)
        if info is None:
            return {}
        with self._staging.open(key) as handle:
            kept = json.loads(handle.read(4 * MAX_ATTESTATIONS_BYTES))
        provenance = self._verify(kept["attestations"], record.filename, sha256, kept["publisher"])
        target = staged_provenance_key(record.session_token, record.file_id, record.filename)
        self._staging.put_bytes(target, provenance.body, INTEGRITY_MEDIA_TYPE)
        return {"provenance_key": target, "provenance_publisher": provenance.publisher}

    # --- the legacy API: the ``attestations`` form field -------------------------------------

    def check_legacy(
        self, principal: Principal, filename: str, sha256: str, field: str
    ) -> Provenance:
        """Verify the legacy form's attestations (a JSON array, as twine and uv send it)
        within the request; ``InvalidRequestError`` (400, as PyPI) when they fail."""
        expected = self.expected_publisher(principal)
        try:
            attestations = parse_attestations(field)
        except AttestationsError as error:
            raise InvalidRequestError(
                f"Invalid attestations supplied during upload: {error}",
                errors=[{"source": ATTESTATIONS, "message": str(error)}],
            ) from None
        try:
            return self._verify(attestations, filename, sha256, expected)
        except AttestationRefused as error:
            raise _refused(error) from None

    def _verify(
        self,
        attestations: list[dict[str, Any]],
        filename: str,
        sha256: str,
        expected: Mapping[str, Any] | None,
    ) -> Provenance:
        verified = self._verifier.verify(
            attestations, filename=filename, sha256=sha256, expected=expected
        )
        document = provenance_document(verified.publisher, verified.attestations)
        logger.info(
            "attestations verified",
            extra={"file": filename, "publisher": verified.publisher, "matched": bool(expected)},
        )
        return Provenance(
            body=json.dumps(document, separators=(",", ":")).encode(),
            publisher=compact_publisher(verified.publisher),
        )

    # --- the Integrity API --------------------------------------------------------------------

    def provenance(self, principal: Principal, project: str, version: str, filename: str) -> bytes:
        """A published file's provenance object, behind the same read rule as the file."""
        missing = NotFoundError(f"No provenance available for {filename[:200]}.")
        if not principal.can_read(project):
            raise missing
        record = self._catalog.project(project)
        if record is None or record.status is ProjectStatus.QUARANTINED:
            raise missing
        entry = self._catalog.published_file(project, filename)
        try:
            same_version = entry is not None and Version(entry.version) == Version(version)
        except InvalidVersion:
            same_version = False
        if entry is None or not same_version or not entry.provenance_publisher:
            raise missing
        stored = self._objects.get(published_provenance_key(project, filename))
        if stored is None:
            raise missing
        return stored.body
