"""TokenService on the in-memory store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.errors import AuthenticationError, ConflictError, NotFoundError
from chalicelib.domain.tokens import Role, TokenRequest
from chalicelib.services.audit import AuditTrail
from chalicelib.services.tokens import TokenService
from tests.fakes import InMemoryAuditLog, InMemoryTokenStore


@pytest.fixture
def service(clock):
    audit = InMemoryAuditLog()
    trail = AuditTrail(audit, clock, retention=timedelta(days=30), auth_bucket=timedelta(minutes=5))
    return TokenService(
        InMemoryTokenStore(audit), clock, touch_seconds=300, retention_days=30, audit=trail
    )


def test_issue_then_authenticate(service):
    issued = service.issue(TokenRequest(role=Role.UPLOAD, projects=["acme-*"]))
    principal = service.authenticate(issued.secret)
    assert principal.token_id == issued.record.id
    assert principal.can_upload("acme-tools")


def test_unknown_secret(service):
    with pytest.raises(AuthenticationError):
        service.authenticate("wharf_nope")


def test_expiry_is_exact(service, clock):
    issued = service.issue(TokenRequest(role=Role.READ, expires_days=1))
    clock.advance(days=1, seconds=-1)
    service.authenticate(issued.secret)
    clock.advance(seconds=1)
    with pytest.raises(AuthenticationError, match="expired"):
        service.authenticate(issued.secret)


def test_revoke_takes_effect_at_once(service):
    issued = service.issue(TokenRequest(role=Role.READ))
    service.authenticate(issued.secret)
    service.revoke(issued.record.id)
    with pytest.raises(AuthenticationError):
        service.authenticate(issued.secret)
    with pytest.raises(NotFoundError):
        service.revoke(issued.record.id)


def test_last_used_written_at_most_every_touch_interval(service, clock):
    issued = service.issue(TokenRequest(role=Role.READ))
    service.authenticate(issued.secret)
    first = service.list()[0].record.last_used_at
    clock.advance(seconds=299)
    service.authenticate(issued.secret)
    assert service.list()[0].record.last_used_at == first
    clock.advance(seconds=1)
    service.authenticate(issued.secret)
    assert service.list()[0].record.last_used_at == clock.now


def test_import_secret_is_idempotent_but_never_revives(service):
    request = TokenRequest(role=Role.ADMIN)
    first = service.import_secret("my-local-admin", request)
    assert service.import_secret("my-local-admin", request) == first
    service.revoke(first.id)
    with pytest.raises(ConflictError):
        service.import_secret("my-local-admin", request)
