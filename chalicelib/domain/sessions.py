"""PEP 694 publishing and file upload sessions: their records and state machines."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from packaging.utils import InvalidName, canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version
from pydantic import ConfigDict

from .audit import ReleasePublisher
from .errors import InvalidRequestError, SessionNotEditableError
from .lifecycle import FileStatus as FileStatus
from .lifecycle import SessionStatus as SessionStatus
from .model import WharfModel

API_VERSION = "2.0"
UPLOAD_MEDIA_TYPE = "application/vnd.pypi.upload.v2+json"
HTTP_POST_BYTES = "http-post-bytes"
# Every name ends up in DynamoDB keys (at most 1 KiB in a sort key) and in filenames
# that pip must be able to save (255 bytes on most file systems), so both are bounded
# well inside those limits; the token pattern limit is the same 200.
MAX_NAME_LENGTH = 200
MAX_VERSION_LENGTH = 128


class CreatedVia(StrEnum):
    UPLOAD_2 = "upload-2.0"
    LEGACY = "legacy"


def _unguessable(nbytes: int) -> str:
    # Never with a leading '-': on a command line (`wharf session cancel TOKEN`) argparse,
    # like most parsers, takes it for an option, and one token in 64 would be refused.
    while (value := secrets.token_urlsafe(nbytes)).startswith("-"):
        pass
    return value


def new_session_token() -> str:
    """The session's unguessable token (192 bits); the stage URL and every session URL use it."""
    return _unguessable(24)


def new_file_id() -> str:
    return _unguessable(12)


def parse_project_name(raw: str) -> str:
    """A valid project name, normalised (PEP 503); raises ``InvalidRequestError``."""
    if not raw:
        raise InvalidRequestError(
            "'name' must be a project name.", errors=[{"source": "name", "message": "required"}]
        )
    if len(raw) > MAX_NAME_LENGTH:
        raise InvalidRequestError(
            f"A project name may be at most {MAX_NAME_LENGTH} characters.",
            errors=[{"source": "name", "message": f"longer than {MAX_NAME_LENGTH} characters"}],
        )
    try:
        return canonicalize_name(raw, validate=True)
    except InvalidName:
        raise InvalidRequestError(
            f"{raw[:100]!r} is not a valid project name: use ASCII letters, digits, '.', '_' "
            "and '-', starting and ending with a letter or digit.",
            errors=[{"source": "name", "message": "invalid project name"}],
        ) from None


def parse_release_version(raw: str, *, allow_local: bool) -> Version:
    """A valid PEP 440 version; raises ``InvalidRequestError``."""
    if not raw:
        raise InvalidRequestError(
            "'version' must be a PEP 440 version string.",
            errors=[{"source": "version", "message": "required"}],
        )
    if len(raw) > MAX_VERSION_LENGTH:
        raise InvalidRequestError(
            f"A version may be at most {MAX_VERSION_LENGTH} characters.",
            errors=[{"source": "version", "message": f"longer than {MAX_VERSION_LENGTH}"}],
        )
    try:
        version = Version(raw)
    except InvalidVersion:
        raise InvalidRequestError(
            f"{raw[:100]!r} is not a valid PEP 440 version.",
            errors=[{"source": "version", "message": "invalid version"}],
        ) from None
    if version.local is not None and not allow_local:
        raise InvalidRequestError(
            f"Local versions ({raw[:100]!r}) are not accepted by this index.",
            errors=[{"source": "version", "message": "local versions are not accepted"}],
        )
    return version


def release_key(version: Version) -> str:
    """One key per release: PEP 440-equal versions (1.0, 1.0.0) are the same release, as on PyPI."""
    return canonicalize_version(version, strip_trailing_zero=True)


class SessionRecord(WharfModel):
    model_config = ConfigDict(frozen=True)

    token: str
    project: str
    version: str
    status: SessionStatus
    created_via: CreatedVia = CreatedVia.UPLOAD_2
    created_at: datetime
    expires_at: datetime
    max_expires_at: datetime
    created_by: str
    notices: tuple[str, ...] = ()
    reserves_project: bool = False
    terminal_at: datetime | None = None
    revision: int = 0
    publish_requested_at: datetime | None = None
    publish_requested_by: ReleasePublisher | None = None  # the token that asked to publish
    # The serial the release committed under: the session reads as published once the
    # project's index is rendered at least this far (``published`` means installable).
    published_serial: int | None = None

    def effective_status(self, now: datetime) -> SessionStatus:
        """A session past its expiry answers as canceled even before the sweeper runs."""
        if self.status.editable and now >= self.expires_at:
            return SessionStatus.CANCELED
        return self.status

    def visible_status(self, now: datetime, rendered_serial: int) -> SessionStatus:
        """The status a client sees: ``published`` only once the project's index is rendered
        up to the release's serial (published means installable); until then the committed
        release still reads ``processing``."""
        status = self.effective_status(now)
        committed = self.published_serial
        if status is SessionStatus.PUBLISHED and committed is not None:
            return status if rendered_serial >= committed else SessionStatus.PROCESSING
        return status

    def require_editable(self, now: datetime) -> None:
        """``SessionNotEditableError`` unless the session takes changes (``open``, ``error``)."""
        status = self.effective_status(now)
        if not status.editable:
            raise SessionNotEditableError(
                f"The publishing session is {status}; it no longer accepts changes."
            )


class FileRecord(WharfModel):
    model_config = ConfigDict(frozen=True)

    session_token: str
    file_id: str
    filename: str
    size: int
    hashes: dict[str, str]
    mechanism: str
    status: FileStatus
    created_at: datetime
    staged_key: str
    upload_id: str | None = None
    notices: tuple[str, ...] = ()
    digests: dict[str, str] = {}
    metadata_key: str | None = None
    metadata_sha256: str | None = None
    requires_python: str | None = None
    processing_since: datetime | None = None
    completed_at: datetime | None = None
    part_size: int | None = None  # the multipart mechanism's
    received_parts: int = 0
    received_bytes: int = 0
    # Set when the file carried PEP 740 attestations that verified (chalicelib/services/
    # provenance.py): the staged provenance object and its publisher (compact JSON).
    provenance_key: str | None = None
    provenance_publisher: str | None = None
    # The review a reviewing file waits for, and where a rejected file's bytes are kept.
    review_id: str | None = None
    quarantine_key: str | None = None

    def effective_status(self, session: SessionRecord, now: datetime) -> FileStatus:
        """Every file of a canceled (or expired) session is canceled."""
        if session.effective_status(now) is SessionStatus.CANCELED:
            return FileStatus.CANCELED
        return self.status
