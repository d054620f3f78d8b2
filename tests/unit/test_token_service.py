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


class CountingStore(InMemoryTokenStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get_by_hash(self, secret_hash):
        self.reads += 1
        return super().get_by_hash(secret_hash)


def _trail(clock):
    return AuditTrail(
        InMemoryAuditLog(), clock, retention=timedelta(days=30), auth_bucket=timedelta(minutes=5)
    )


def test_a_warm_instance_trusts_a_token_it_read_for_cache_seconds(clock):
    store = CountingStore()
    here = TokenService(
        store, clock, touch_seconds=300, retention_days=30, cache_seconds=5, audit=_trail(clock)
    )
    elsewhere = TokenService(
        store, clock, touch_seconds=300, retention_days=30, audit=_trail(clock)
    )
    issued = here.issue(TokenRequest(role=Role.READ, expires_days=1))
    for _ in range(10):
        here.authenticate(issued.secret)
    assert store.reads == 1
    # Revoked by another instance: this one notices once its copy is cache_seconds old.
    elsewhere.revoke(issued.record.id)
    clock.advance(seconds=4)
    here.authenticate(issued.secret)
    clock.advance(seconds=1)
    with pytest.raises(AuthenticationError):
        here.authenticate(issued.secret)


def test_cached_tokens_still_expire_and_revoke_here_at_once(clock):
    service = TokenService(
        CountingStore(),
        clock,
        touch_seconds=300,
        retention_days=30,
        cache_seconds=5,
        audit=_trail(clock),
    )
    issued = service.issue(TokenRequest(role=Role.READ, expires_days=1))
    clock.advance(days=1, seconds=-1)
    service.authenticate(issued.secret)
    clock.advance(seconds=1)
    with pytest.raises(AuthenticationError, match="expired"):
        service.authenticate(issued.secret)
    other = service.issue(TokenRequest(role=Role.READ))
    service.authenticate(other.secret)
    service.revoke(other.record.id)
    with pytest.raises(AuthenticationError):
        service.authenticate(other.secret)
