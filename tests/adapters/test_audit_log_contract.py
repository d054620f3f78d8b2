"""The AuditLog contract (and tokens written with their audit event), on the fake and on
DynamoDB (moto)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.audit import AuditEvent, AuditKind, AuditQuery
from chalicelib.domain.errors import ConflictError, NotFoundError
from chalicelib.domain.identity import IssuerKind, PublisherIdentity
from chalicelib.domain.ports import Audited
from chalicelib.domain.tokens import Role, TokenRequest, new_record, new_secret
from tests.adapters.conftest import NOW

IDENTITY = PublisherIdentity(
    publisher_id="gh-acme",
    kind=IssuerKind.GITHUB,
    issuer="https://token.actions.githubusercontent.com",
    repository="acme/tools",
    workflow="release.yml",
    ref="refs/tags/v1.0",
    run_id="42",
)


def event(key: str, minutes: int = 0, *, kind=AuditKind.SESSION_OPENED, **fields) -> Audited:
    at = NOW + timedelta(minutes=minutes)
    fields.setdefault("actor", "tok-a")
    return Audited(AuditEvent.of(kind, key, at=at, **fields), expire_at=at + timedelta(days=1))


def everything(log, query: AuditQuery) -> list[AuditEvent]:
    """Every page of a listing, following cursors."""
    found, cursor = [], None
    for _ in range(100):
        page = log.page(query, cursor=cursor, now=NOW + timedelta(days=90), oldest=NOW)
        assert len(page.events) <= query.limit
        found += page.events
        cursor = page.cursor
        if cursor is None:
            return found
    raise AssertionError("the listing never ended")


def test_an_event_is_recorded_once_whatever_its_time(backend):
    log = backend.stores.audit
    assert log.append(event("s1", project="acme-tools")) is True
    # A handler retried under at-least-once delivery reads the clock again.
    assert log.append(event("s1", 5, project="acme-tools")) is False
    [only] = everything(log, AuditQuery())
    assert (only.event_id, only.at) == ("session.opened:s1", NOW)


def test_events_round_trip_with_their_publisher(backend):
    log = backend.stores.audit
    minted = AuditEvent.token_minted(
        token_id="t1",
        identity=IDENTITY,
        at=NOW,
        projects=["acme-*"],
        permissions=["upload"],
        expires_at=NOW + timedelta(minutes=15),
    )
    log.append(Audited(minted, expire_at=NOW + timedelta(days=1)))
    [stored] = everything(log, AuditQuery())
    assert stored == minted
    assert stored.details["repository"] == "acme/tools" and stored.details["run_id"] == "42"
    assert everything(log, AuditQuery(actor="publisher:gh-acme")) == [minted]


@pytest.mark.parametrize("newest_first", [True, False])
@pytest.mark.parametrize("limit", [1, 3, 200])
def test_pages_cover_every_event_once_in_order_across_months(backend, newest_first, limit):
    log = backend.stores.audit
    # Three months apart, so DynamoDB's monthly partitions are walked.
    for n in range(7):
        log.append(event(f"e{n}", n * 60 * 24 * 10, project="acme-tools" if n % 2 else "other"))
    query = AuditQuery(newest_first=newest_first, limit=limit)
    found = everything(log, query)
    keys = [e.event_id for e in found]
    expected = [f"session.opened:e{n}" for n in range(7)]
    assert keys == (expected[::-1] if newest_first else expected)
    by_project = everything(log, AuditQuery(project="acme-tools", newest_first=newest_first))
    assert [e.event_id for e in by_project] == [k for k in keys if k[-1] in "135"]


def test_filters_by_actor_and_since(backend):
    log = backend.stores.audit
    log.append(event("a", 0, actor="tok-a"))
    log.append(event("b", 1, actor="tok-b"))
    log.append(event("c", 2, actor="tok-a", publisher=IDENTITY))
    assert [e.event_id[-1] for e in everything(log, AuditQuery(actor="tok-a"))] == ["c", "a"]
    since = AuditQuery(since=NOW + timedelta(minutes=1), newest_first=False)
    assert [e.event_id[-1] for e in everything(log, since)] == ["b", "c"]
    newest = AuditQuery(since=NOW + timedelta(minutes=1))
    assert [e.event_id[-1] for e in everything(log, newest)] == ["c", "b"]
    assert everything(log, AuditQuery(project="nothing-here")) == []


def test_failure_summaries_count_up(backend):
    log = backend.stores.audit
    for _ in range(3):
        log.count_failure(event("10.0.0.1:unknown", kind=AuditKind.AUTH_FAILED, actor="anonymous"))
    [summary] = everything(log, AuditQuery())
    assert (summary.kind, summary.count) == (AuditKind.AUTH_FAILED, 3)


def test_a_cursor_of_another_listing_is_refused(backend):
    log = backend.stores.audit
    for bad in ("not-base64!", "e30=", "WyJ4Il0="):
        with pytest.raises(ValueError):
            log.page(AuditQuery(), cursor=bad, now=NOW, oldest=NOW)


def test_events_carry_the_retention_as_ttl(backend):
    backend.stores.audit.append(event("ttl"))
    if backend.aws is None:
        assert list(backend.stores.audit.expiry.values()) == [NOW + timedelta(days=1)]
        return
    items = backend.aws.clients.dynamodb.scan(TableName=backend.aws.resources.table)["Items"]
    audit = [i for i in items if i["PK"]["S"].startswith("AUDIT")]
    assert len(audit) == 2  # the event and its id's marker
    expected = int((NOW + timedelta(days=1)).timestamp())
    assert all(int(i["expires"]["N"]) == expected for i in audit)


def test_a_token_is_stored_with_its_audit_event_or_not_at_all(backend):
    tokens, log = backend.stores.tokens, backend.stores.audit
    record = new_record(TokenRequest(role=Role.READ), new_secret(), NOW)
    created = event(record.id, kind=AuditKind.TOKEN_CREATED)
    tokens.add(record, expire_at=None, audit=created)
    assert [e.kind for e in everything(log, AuditQuery())] == [AuditKind.TOKEN_CREATED]
    with pytest.raises(ConflictError):
        tokens.add(record, expire_at=None, audit=event("other", kind=AuditKind.TOKEN_CREATED))
    # An event id already recorded refuses the whole write: no token without its record.
    twin = new_record(TokenRequest(role=Role.READ), new_secret(), NOW)
    with pytest.raises(Exception):  # noqa: B017 - the store's own refusal, not a domain error
        tokens.add(twin, expire_at=None, audit=created)
    assert tokens.get_by_hash(twin.secret_hash) is None

    revoked = event(record.id, 1, kind=AuditKind.TOKEN_REVOKED)
    tokens.revoke(record.secret_hash, NOW, expire_at=NOW, audit=revoked)
    with pytest.raises(NotFoundError):
        tokens.revoke(record.secret_hash, NOW, expire_at=NOW, audit=revoked)
    kinds = [e.kind for e in everything(log, AuditQuery(newest_first=False))]
    assert kinds == [AuditKind.TOKEN_CREATED, AuditKind.TOKEN_REVOKED]


def test_a_trusted_publisher_is_added_and_removed_with_its_audit_event_or_not_at_all(backend):
    from tests.adapters.test_trusted_publisher_contract import github

    publishers, log = backend.stores.publishers, backend.stores.audit
    publisher = github()
    added = event(publisher.id, kind=AuditKind.PUBLISHER_ADDED)
    publishers.add(publisher, audit=added)
    with pytest.raises(ConflictError):
        publishers.add(publisher, audit=event("again", kind=AuditKind.PUBLISHER_ADDED))
    twin = github()
    with pytest.raises(Exception):  # noqa: B017 - the store's own refusal, not a domain error
        publishers.add(twin, audit=added)
    assert [p.id for p in publishers.all()] == [publisher.id]
    removed = event(publisher.id, 1, kind=AuditKind.PUBLISHER_REMOVED)
    publishers.remove(publisher.id, audit=removed)
    with pytest.raises(NotFoundError):
        publishers.remove(publisher.id, audit=event("x", 2, kind=AuditKind.PUBLISHER_REMOVED))
    kinds = [e.kind for e in everything(log, AuditQuery(newest_first=False))]
    assert kinds == [AuditKind.PUBLISHER_ADDED, AuditKind.PUBLISHER_REMOVED]
