"""The TrustedPublisherStore and ReplayGuard contracts, on the fakes and on DynamoDB (moto)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.dynamo_publishers import DynamoReplayGuard, DynamoTrustedPublisherStore
from chalicelib.domain.errors import ConflictError, NotFoundError
from chalicelib.domain.trusted_publishers import PublisherRequest, new_publisher
from tests.fakes import InMemoryReplayGuard, InMemoryTrustedPublisherStore

NOW = datetime(2001, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request):
    if request.param == "memory":
        return InMemoryTrustedPublisherStore(), InMemoryReplayGuard()
    aws = request.getfixturevalue("aws")
    client, table = aws.clients.dynamodb, aws.resources.table
    return DynamoTrustedPublisherStore(client, table), DynamoReplayGuard(client, table)


def github(when=NOW, **overrides):
    fields = {
        "kind": "github",
        "repository": "acme/tools",
        "repository_owner_id": "42",
        "workflow": "release.yml",
        "projects": ["acme-*", "tools"],
        "environment": "pypi",
        **overrides,
    }
    return new_publisher(PublisherRequest(**fields), when)


def test_round_trip_oldest_first(stores):
    publishers, _ = stores
    later = github(NOW + timedelta(minutes=1), may_publish=False, ref="refs/tags/*")
    gitlab = new_publisher(
        PublisherRequest(
            kind="gitlab", repository="a/b/c", workflow="ci/release.yml", projects=["c"]
        ),
        NOW,
    )
    other = new_publisher(
        PublisherRequest(
            kind="other",
            issuer="https://ci.example",
            claims={"sub": "x", "team": "y"},
            projects=["c"],
        ),
        NOW + timedelta(minutes=2),
    )
    for publisher in (later, gitlab, other):
        publishers.add(publisher)
    assert publishers.all() == sorted([later, gitlab, other], key=lambda p: (p.created_at, p.id))


def test_add_refuses_a_taken_id(stores):
    publishers, _ = stores
    first = github()
    publishers.add(first)
    with pytest.raises(ConflictError):
        publishers.add(github().model_copy(update={"id": first.id}))
    assert publishers.all() == [first]


def test_remove_returns_the_publisher_once(stores):
    publishers, _ = stores
    kept, removed = github(), github()
    publishers.add(kept)
    publishers.add(removed)
    assert publishers.remove(removed.id) == removed
    assert publishers.all() == [kept]
    with pytest.raises(NotFoundError):
        publishers.remove(removed.id)


def test_each_jti_is_accepted_once_per_issuer(stores):
    _, replay = stores
    expire = NOW + timedelta(minutes=10)
    assert replay.first_use("https://a.example", "j1", expire_at=expire)
    assert not replay.first_use("https://a.example", "j1", expire_at=expire)
    assert replay.first_use("https://b.example", "j1", expire_at=expire)
    assert replay.first_use("https://a.example", "j2", expire_at=expire)


def test_of_racing_uses_exactly_one_wins(stores):
    _, replay = stores
    results: list[bool] = []
    start = threading.Barrier(6)

    def attempt():
        start.wait()
        results.append(replay.first_use("https://a.example", "race", expire_at=NOW))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]
