"""Reading a token out of an ``Authorization`` header (HTTP Basic or Bearer)."""

from __future__ import annotations

import base64
import binascii

from .errors import AuthenticationError
from .tokens import TOKEN_PREFIX

TOKEN_USERNAME = "__token__"


def secret_from_authorization(header: str | None) -> str:
    """Return the token secret carried by ``header``.

    Accepts ``Basic base64(__token__:<secret>)`` and ``Bearer <secret>``.
    Raises ``AuthenticationError`` saying what is wrong with anything else.
    """
    if header is None or not header.strip():
        raise AuthenticationError(
            "Authentication required: send HTTP Basic credentials with the username "
            f"'{TOKEN_USERNAME}' and a wharf token as the password, or 'Bearer <token>'."
        )
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    match scheme.lower():
        case "basic":
            return _from_basic(value)
        case "bearer":
            if not value or any(ch.isspace() for ch in value):
                raise AuthenticationError(
                    "Malformed Bearer credentials: expected 'Bearer <token>'."
                )
            return value
        case _:
            # The scheme is not echoed: a bare token sent as the whole header would leak.
            raise AuthenticationError("Unsupported authorization scheme: use Basic or Bearer.")


def _from_basic(value: str) -> str:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise AuthenticationError(
            "Malformed Basic credentials: the value is not base64 of 'username:password'."
        ) from None
    username, colon, password = decoded.partition(":")
    if not colon:
        raise AuthenticationError(
            "Malformed Basic credentials: the value is not base64 of 'username:password'."
        )
    if username.startswith(TOKEN_PREFIX):
        # Said plainly because it is the commonest mistake, and the secret must not be echoed.
        raise AuthenticationError(
            f"The token was sent as the username: use '{TOKEN_USERNAME}' as the username "
            "and the token as the password."
        )
    if username != TOKEN_USERNAME:
        raise AuthenticationError(
            f"Unknown username: wharf accepts only '{TOKEN_USERNAME}' with a token as the password."
        )
    if not password:
        raise AuthenticationError("Empty password: send the token as the password.")
    return password
