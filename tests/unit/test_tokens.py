import re

import pytest
from pydantic import ValidationError

from chalicelib.domain.tokens import (
    Principal,
    Role,
    TokenRequest,
    hash_secret,
    new_secret,
    normalize_pattern,
)


def test_secret_has_prefix_and_256_bits():
    secret = new_secret()
    assert re.fullmatch(r"wharf_[A-Za-z0-9_-]{43}", secret)
    assert len({new_secret() for _ in range(1000)}) == 1000


def test_hash_is_sha256_hex_and_hides_the_secret():
    secret = new_secret()
    digest = hash_secret(secret)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert secret not in digest


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Acme_Tools", "acme-tools"),
        ("acme-*", "acme-*"),
        ("ACME.*", "acme-*"),
        ("*", "*"),
        ("*-internal", "*-internal"),
        ("a", "a"),
    ],
)
def test_patterns_are_normalised_like_names(raw, normalised):
    assert normalize_pattern(raw) == normalised


@pytest.mark.parametrize(
    "bad", ["", "   ", "-acme", "acme-", "ac me", "acmé", "acme/*", "a" * 201, "acme\n"]
)
def test_invalid_patterns_are_refused(bad):
    with pytest.raises(ValueError):
        normalize_pattern(bad)


def test_upload_request_needs_a_pattern():
    with pytest.raises(ValidationError, match="at least one project pattern"):
        TokenRequest(role=Role.UPLOAD)


@pytest.mark.parametrize("role", ["read", "admin"])
def test_patterns_only_for_upload(role):
    with pytest.raises(ValidationError, match="only apply to upload tokens"):
        TokenRequest(role=role, projects=["acme"])


@pytest.mark.parametrize(
    "body",
    [
        {"role": "superuser"},
        {"role": "read", "expires_days": 0},
        {"role": "read", "expires_days": -3},
        {"role": "read", "expires_days": 3651},
        {"role": "read", "expires_days": "soon"},
        {"role": "read", "description": "x" * 201},
        {"role": "read", "description": "two\nlines"},
        {"role": "read", "unknown": 1},
        {"role": "upload", "projects": [""]},
        {"role": "upload", "projects": "acme"},
        {},
    ],
)
def test_bad_token_requests(body):
    with pytest.raises(ValidationError):
        TokenRequest.model_validate(body)


def test_request_reports_every_problem_at_once():
    with pytest.raises(ValidationError) as caught:
        TokenRequest.model_validate(
            {"role": "read", "expires_days": 0, "description": "x" * 300, "extra": True}
        )
    assert caught.value.error_count() == 3


def test_duplicate_patterns_collapse():
    request = TokenRequest(role="upload", projects=["Acme-*", "acme_*", "tools"])
    assert request.projects == ["acme-*", "tools"]


def test_principal_permissions():
    reader = Principal(token_id="r", role=Role.READ)
    uploader = Principal(token_id="u", role=Role.UPLOAD, projects=("acme-*",))
    admin = Principal(token_id="a", role=Role.ADMIN)

    assert reader.can_read_index() and reader.can_read("anything")
    assert not reader.can_upload("anything") and not reader.is_admin

    assert not uploader.can_read_index()
    assert uploader.can_read("acme-tools") and uploader.can_upload("acme-tools")
    assert not uploader.can_read("other") and not uploader.can_upload("other")
    # The pattern needs something after the dash.
    assert not uploader.can_upload("acme")

    assert admin.is_admin and admin.can_upload("x") and admin.can_read_index()


def test_a_token_stored_before_the_publish_split_keeps_publishing():
    from chalicelib.domain.tokens import TokenRecord

    stored = {
        "id": "abc",
        "secret_hash": "0" * 64,
        "role": "upload",
        "projects": ["acme"],
        "created_at": "2001-01-01T00:00:00Z",
    }
    principal = TokenRecord.model_validate(stored).principal()
    assert principal.can_publish("acme") and principal.permissions == ("upload", "publish")
    upload_only = TokenRecord.model_validate({**stored, "may_publish": False}).principal()
    assert upload_only.can_upload("acme") and not upload_only.can_publish("acme")
    assert not upload_only.can_publish("other")
    assert upload_only.permissions == ("upload",)
