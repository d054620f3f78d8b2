"""The PageStore contract (release page facts, download counters, browser sessions), run
against the in-memory fake and against DynamoDB on moto."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.adapters.dynamo_pages import DynamoPageStore
from chalicelib.domain.errors import ConflictError
from chalicelib.domain.identity import IssuerKind, PublisherIdentity
from chalicelib.domain.pages import BrowserSession, PublishedBy, ReleaseDoc
from tests.fakes import InMemoryPageStore

NOW = datetime(2001, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamodb"])
def store(request):
    if request.param == "memory":
        return InMemoryPageStore()
    aws = request.getfixturevalue("aws")
    return DynamoPageStore(aws.clients.dynamodb, aws.resources.table)


def doc(version: str = "1.0", **changes) -> ReleaseDoc:
    values = dict(
        project="acme-tools",
        version=version,
        published_at=NOW,
        summary="Tools",
        requires_python=">=3.9",
        requires_dist=("requests>=2",),
        project_urls=(("Source", "https://git.example/acme"),),
        published_by=PublishedBy(
            token_id="abc",
            description="CI",
            publisher=PublisherIdentity(
                publisher_id="p1",
                kind=IssuerKind.GITHUB,
                issuer="https://token.actions.githubusercontent.com",
                repository="acme/tools",
                workflow="release.yml",
            ),
        ),
        description_key="pages/acme-tools/1.0/description.html",
    )
    values.update(changes)
    return ReleaseDoc(**values)


def test_release_facts_round_trip_per_project(store):
    store.put_release(doc("1.0"))
    store.put_release(doc("1.1", requires_python=None, published_by=None, description_key=None))
    store.put_release(doc("1.0", project="other"))
    found = {d.version: d for d in store.releases("acme-tools")}
    assert found == {"1.0": doc("1.0"), "1.1": doc("1.1", requires_python=None,
                     published_by=None, description_key=None)}  # fmt: skip
    store.put_release(doc("1.0", summary="Changed"))
    assert {d.summary for d in store.releases("acme-tools")} == {"Tools", "Changed"}
    assert store.releases("nothing") == []


def test_the_latest_summary_wins(store):
    store.set_summary("acme-tools", "new", at=NOW + timedelta(hours=1))
    store.set_summary("acme-tools", "old", at=NOW)  # a late write of an older release
    store.set_summary("other", "theirs", at=NOW)
    assert store.summaries() == {"acme-tools": "new", "other": "theirs"}
    store.set_summary("acme-tools", "newer", at=NOW + timedelta(hours=2))
    assert store.summaries()["acme-tools"] == "newer"


def test_download_counts_per_version_and_window(store):
    expire = NOW + timedelta(days=31)
    day = date(2001, 1, 10)
    for _ in range(3):
        store.count_download("acme-tools", "1.0", day, expire_at=expire)
    store.count_download("acme-tools", "1.1", day, expire_at=expire)
    store.count_download("acme-tools", "1.0", date(2001, 1, 1), expire_at=expire)
    store.count_download("other", "1.0", day, expire_at=expire)
    assert store.downloads("acme-tools", date(2001, 1, 1)) == {"1.0": 4, "1.1": 1}
    assert store.downloads("acme-tools", date(2001, 1, 2)) == {"1.0": 3, "1.1": 1}
    assert store.downloads("acme-tools", date(2001, 1, 11)) == {}


def test_concurrent_counts_are_all_kept(store):
    expire = NOW + timedelta(days=31)

    def count() -> None:
        for _ in range(5):
            store.count_download("acme-tools", "1.0", date(2001, 1, 1), expire_at=expire)

    threads = [threading.Thread(target=count) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.downloads("acme-tools", date(2001, 1, 1)) == {"1.0": 20}


def browser(id_hash: str = "h" * 64) -> BrowserSession:
    return BrowserSession(
        id_hash=id_hash,
        token_hash="t" * 64,
        csrf="c" * 43,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=8),
    )


def test_browser_sessions(store):
    store.add_browser_session(browser())
    assert store.browser_session("h" * 64) == browser()
    assert store.browser_session("x" * 64) is None
    with pytest.raises(ConflictError):
        store.add_browser_session(browser())
    store.end_browser_session("h" * 64)
    assert store.browser_session("h" * 64) is None
    store.end_browser_session("h" * 64)  # gone already: no error
