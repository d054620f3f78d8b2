"""Who is calling: the token behind a request's ``Authorization`` header."""

from __future__ import annotations

from chalice.app import Request

from ..domain.credentials import secret_from_authorization
from ..domain.tokens import Principal
from ..observability import logger
from ..wiring import container


def principal_of(request: Request) -> Principal:
    """The caller's principal; raises ``AuthenticationError`` (answered 401)."""
    secret = secret_from_authorization(request.headers.get("authorization"))
    principal = container().tokens.authenticate(secret)
    logger.thread_safe_append_keys(token_id=principal.token_id)
    return principal
