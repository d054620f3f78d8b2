import base64

import pytest

from chalicelib.domain.credentials import secret_from_authorization
from chalicelib.domain.errors import AuthenticationError


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_basic_with_token_username():
    assert secret_from_authorization(f"Basic {b64('__token__:wharf_abc')}") == "wharf_abc"


def test_password_may_contain_colons():
    assert secret_from_authorization(f"Basic {b64('__token__:a:b')}") == "a:b"


def test_bearer():
    assert secret_from_authorization("Bearer wharf_abc") == "wharf_abc"
    assert secret_from_authorization("bearer   wharf_abc ") == "wharf_abc"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "Authentication required"),
        ("", "Authentication required"),
        ("Basic", "Malformed Basic"),
        ("Basic !!!not-base64!!!", "Malformed Basic"),
        (f"Basic {b64('no-colon-here')}", "Malformed Basic"),
        ("Basic " + base64.b64encode(b"__token__:\xff").decode(), "Malformed Basic"),
        (f"Basic {b64('alice:wharf_abc')}", "Unknown username"),
        (f"Basic {b64('__token__:')}", "Empty password"),
        (f"Basic {b64('wharf_abc:')}", "sent as the username"),
        (f"Basic {b64('wharf_abc:x-oauth-basic')}", "sent as the username"),
        ("Bearer", "Malformed Bearer"),
        ("Bearer a b", "Malformed Bearer"),
        ("Digest username=x", "Unsupported authorization scheme"),
        ("wharf_abc", "Unsupported authorization scheme"),
    ],
)
def test_malformed_headers(header, reason):
    with pytest.raises(AuthenticationError, match=reason) as caught:
        secret_from_authorization(header)
    assert "wharf_abc" not in caught.value.detail
