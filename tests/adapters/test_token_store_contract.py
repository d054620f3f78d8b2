"""The TokenStore contract, run against the in-memory fake and against DynamoDB on moto."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.dynamo_tokens import DynamoTokenStore
from chalicelib.domain.errors import ConflictError, NotFoundError
from chalicelib.domain.tokens import Role, TokenRequest, new_record, new_secret
from tests.fakes import InMemoryTokenStore

NOW = datetime(2001, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamodb"])
def store(request):
    if request.param == "memory":
        return InMemoryTokenStore()
    aws = request.getfixturevalue("aws")
    return DynamoTokenStore(aws.clients.dynamodb, aws.resources.table)


def make(role="read", projects=(), when=NOW, expires_days=None):
    request = TokenRequest(role=Role(role), projects=list(projects), expires_days=expires_days)
    return new_record(request, new_secret(), when)


def test_round_trip(store):
    record = make("upload", ["acme-*"], expires_days=3)
    store.add(record, expire_at=None)
    assert store.get_by_hash(record.secret_hash) == record
    assert store.get_by_id(record.id) == record
    assert store.get_by_hash("0" * 64) is None
    assert store.get_by_id("nope") is None


def test_add_refuses_a_duplicate_hash(store):
    record = make()
    store.add(record, expire_at=None)
    with pytest.raises(ConflictError):
        store.add(record.model_copy(update={"id": "other"}), expire_at=None)


def test_all_is_oldest_first(store):
    records = [make(when=NOW + timedelta(minutes=m)) for m in (5, 1, 3)]
    for record in records:
        store.add(record, expire_at=None)
    assert [r.id for r in store.all()] == [
        r.id for r in sorted(records, key=lambda r: r.created_at)
    ]


def test_revoke_once(store):
    record = make()
    store.add(record, expire_at=None)
    store.revoke(record.secret_hash, NOW, expire_at=NOW + timedelta(days=30))
    assert store.get_by_hash(record.secret_hash).revoked_at == NOW
    with pytest.raises(NotFoundError):
        store.revoke(record.secret_hash, NOW, expire_at=NOW)
    with pytest.raises(NotFoundError):
        store.revoke("f" * 64, NOW, expire_at=NOW)


def test_touch_is_rate_limited(store):
    record = make()
    store.add(record, expire_at=None)
    store.touch(record.secret_hash, NOW, not_since=NOW - timedelta(minutes=5))
    assert store.get_by_hash(record.secret_hash).last_used_at == NOW
    later = NOW + timedelta(minutes=1)
    store.touch(record.secret_hash, later, not_since=later - timedelta(minutes=5))
    assert store.get_by_hash(record.secret_hash).last_used_at == NOW
    much_later = NOW + timedelta(minutes=10)
    store.touch(record.secret_hash, much_later, not_since=much_later - timedelta(minutes=5))
    assert store.get_by_hash(record.secret_hash).last_used_at == much_later


def test_concurrent_revocations_have_one_winner(store):
    record = make()
    store.add(record, expire_at=None)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def revoke() -> None:
        barrier.wait()
        try:
            store.revoke(record.secret_hash, NOW, expire_at=NOW)
            outcomes.append("won")
        except NotFoundError:
            outcomes.append("lost")

    threads = [threading.Thread(target=revoke) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]


def test_a_minted_tokens_publisher_round_trips(store):
    """Trusted publishing stores the CI identity on the token; attestations match it."""
    from chalicelib.domain.identity import IssuerKind, PublisherIdentity

    publisher = PublisherIdentity(
        publisher_id="tp-1",
        kind=IssuerKind.GITHUB,
        issuer="https://token.actions.githubusercontent.com",
        repository="acme/tools",
        workflow="release.yml",
        environment=None,
    )
    record = make("upload", ["acme-*"]).model_copy(update={"publisher": publisher})
    store.add(record, expire_at=None)
    found = store.get_by_hash(record.secret_hash)
    assert found == record
    assert found.principal().publisher == publisher
