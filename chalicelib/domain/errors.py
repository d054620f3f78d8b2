"""Domain errors. The API maps each class to an HTTP status in one table (api/problems.py)."""

from __future__ import annotations

from typing import Any


class WharfError(Exception):
    """Root of every error wharf reports to a caller.

    ``detail`` is a sentence for a person; ``errors`` lists individual problems
    (each a mapping with at least ``message``) when there are several.
    """

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        # Headers the problem response carries besides its body (Allow on a 405, Location).
        self.headers: dict[str, str] = {}


class InvalidRequestError(WharfError):
    """The request is malformed or a value in it is invalid."""


class AuthenticationError(WharfError):
    """No credentials, or credentials that do not identify a live token."""


class RevokedTokenError(AuthenticationError):
    """The token was valid once and has been revoked."""


class PermissionDeniedError(WharfError):
    """The caller is known but may not do this."""


class MissingPermissionError(PermissionDeniedError):
    """The caller may upload to the project but lacks a permission the action needs
    (``errors`` names it, so a client can tell the user which token to use)."""

    def __init__(self, detail: str, *, permission: str) -> None:
        super().__init__(
            detail,
            errors=[{"source": "permission", "code": "missing-permission", "message": permission}],
        )
        self.permission = permission

    @classmethod
    def publish(cls, action: str, *, then: str | None = None) -> MissingPermissionError:
        return cls(
            f"This token lacks the 'publish' permission, which is needed to {action}. "
            + (
                then
                or "It may upload and stage; someone holding a token with 'publish' can "
                "publish the session, which stays as it was."
            ),
            permission="publish",
        )


class NotFoundError(WharfError):
    """The thing asked for does not exist (or the caller may not know it does)."""


class MethodNotAllowedError(WharfError):
    """The resource exists but does not answer this method."""


class ConflictError(WharfError):
    """The request conflicts with the current state of the resource."""


class NotAcceptableError(WharfError):
    """No representation the caller accepts is available."""


class UnsupportedMediaTypeError(WharfError):
    """The request body has a content type this endpoint does not take."""


class PayloadTooLargeError(WharfError):
    """The request body is larger than this endpoint takes."""


class UnprocessableError(WharfError):
    """The request is well-formed but asks for something the server cannot do."""


class SessionExistsError(ConflictError):
    """A non-terminal publishing session already exists for this name and version."""

    def __init__(self, detail: str, *, token: str) -> None:
        super().__init__(detail)
        self.token = token


class StateChangedError(ConflictError):
    """The record changed under us: a concurrent request won (read it again, retry).

    ``current`` is the state the record was found in when the store can tell (a failed
    condition returns the item), ``None`` when it is gone or unknown.
    """

    def __init__(
        self,
        detail: str,
        *,
        current: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail, errors=errors)
        self.current = current


# --- conflicts a client acts on differently, each its own problem type -------------------


class SessionNotEditableError(ConflictError):
    """The publishing session is being published, published or canceled: it takes no changes."""


class AlreadyPublishedError(SessionNotEditableError):
    """The session is already published: a repeated publish has nothing left to do."""


class FilenameTakenError(ConflictError):
    """The filename (or an equivalent spelling) is published, or reserved by another publish."""


class FileInSessionError(ConflictError):
    """The session already has a file of that name: delete it before uploading it again."""


class FilesNotCompletedError(ConflictError):
    """Publishing needs every file completed; ``errors`` names each one that is not."""


class FileNotPendingError(ConflictError):
    """The file upload session no longer takes bytes or a completion (it is processing,
    completed, error or canceled), or is being validated and cannot be deleted now."""


class MechanismMismatchError(ConflictError):
    """The request belongs to another upload mechanism than the file was created with."""


class FileTooLargeError(ConflictError):
    """The declared size is beyond what this index accepts per file."""


class MixedUploadPathsError(ConflictError):
    """A release's session was opened by the other door (legacy vs Upload 2.0)."""


class ReviewClosedError(ConflictError):
    """A verdict for a review that is settled, withdrawn, or already has this reviewer's
    (other) verdict: the file is no longer waiting for it."""
