"""Who is calling: the token behind a request's ``Authorization`` header."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.credentials import secret_from_authorization
from ..observability import logger
from ..wiring import container

if TYPE_CHECKING:
    from chalice.app import Request

    from ..domain.tokens import Principal


def source_of(request: Request) -> str:
    """The caller's address as API Gateway saw it, for counting failed authentications."""
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")[:64]


def principal_of(request: Request) -> Principal:
    """The caller's principal; raises ``AuthenticationError`` (answered 401)."""
    secret = secret_from_authorization(request.headers.get("authorization"))
    principal = container().tokens.authenticate(secret, source=source_of(request))
    logger.thread_safe_append_keys(token_id=principal.token_id)
    return principal
