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


class InvalidRequestError(WharfError):
    """The request is malformed or a value in it is invalid."""


class AuthenticationError(WharfError):
    """No credentials, or credentials that do not identify a live token."""


class RevokedTokenError(AuthenticationError):
    """The token was valid once and has been revoked."""


class PermissionDeniedError(WharfError):
    """The caller is known but may not do this."""


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
    """The record changed under us: a concurrent request won."""
