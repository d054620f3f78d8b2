"""What the audit trail guarantees when deliveries repeat and when it cannot be written
(services on the fakes; docs/audit.md)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib import wiring
from chalicelib.domain.audit import AuditQuery
from chalicelib.domain.errors import AuthenticationError
from chalicelib.domain.lifecycle import SessionStatus
from chalicelib.domain.tokens import Principal, Role, TokenRequest
from chalicelib.events.storage import handle_staged_object
from chalicelib.settings import Settings
from tests.fakes import memory_stores
from tests.services.conftest import UPLOADER, World

ADMIN = Principal(token_id="admin", role=Role.ADMIN)


class BrokenLog:
    """An audit log whose every write fails, as an unavailable table would."""

    def __init__(self, real) -> None:
        self.real = real
        self.lock = real.lock

    def append(self, entry):
        raise RuntimeError("the table is unavailable")

    count_failure = append

    def page(self, *args, **kwargs):
        return self.real.page(*args, **kwargs)

    def check_new(self, entry):
        raise RuntimeError("transaction refused")


def kinds(world: World) -> list[str]:
    page = world.wharf.audit.page(AuditQuery(newest_first=False, limit=200), None)
    return [str(e.kind) for e in page.events]


def test_a_redelivered_event_is_recorded_once(world, clock):
    token = world.session()
    view, data = world.add(token)
    world.send(token, view.file.file_id, data)
    world.wharf.files.complete(UPLOADER, token, view.file.file_id)
    events = world.bucket.take_events()
    clock.advance(seconds=1)  # the trail is in time order; the fake clock stands still
    for _ in range(2):  # SQS delivers at least once
        for key, size in events:
            handle_staged_object(world.wharf, key, size, attempt=1)
        clock.advance(seconds=1)  # a redelivery comes later: the id, not the time, dedupes
    world.wharf.publisher.request(UPLOADER, token)
    clock.advance(seconds=1)
    publish_events = world.bucket.take_events()
    for attempt in (1, 2):
        for key, size in publish_events:
            handle_staged_object(world.wharf, key, size, attempt=attempt)
        clock.advance(seconds=1)
    assert kinds(world) == [
        "session.opened",
        "file.completed",
        "release.publish-requested",
        "release.published",
    ]


def test_an_expired_session_is_recorded_as_the_sweeper_s(world, clock):
    world.session()
    clock.advance(days=2)
    assert world.wharf.sessions.expire_due() == 1
    page = world.wharf.audit.page(AuditQuery(), None)
    assert (str(page.events[0].kind), page.events[0].actor) == ("session.expired", "system")


@pytest.fixture
def broken(clock) -> World:
    stores, memory, bucket = memory_stores()
    stores = replace(stores, audit=BrokenLog(stores.audit))
    stores.tokens._audit = stores.audit  # the token store writes through the same log
    settings = Settings(
        queue_arn="arn:aws:sqs:us-east-1:000000000000:wharf",
        table_name="unused",
        bucket_name="unused",
    )
    return World(wiring.build(settings, clock=clock, stores=stores), memory, bucket)


def test_without_the_trail_no_token_is_created_or_revoked(broken):
    with pytest.raises(RuntimeError):
        broken.wharf.tokens.issue(TokenRequest(role=Role.READ), by=ADMIN)
    assert broken.wharf.tokens.list() == []


def test_without_the_trail_no_moderation_happens(broken):
    broken.session()  # the project's name is reserved: it has a record
    with pytest.raises(RuntimeError):
        broken.wharf.moderation.set_uploaders_cancel_own("acme-tools", True, by=ADMIN)
    assert broken.wharf.stores.catalog.project("acme-tools").uploaders_cancel_own is False


def test_without_the_trail_uploads_publishes_and_refusals_still_happen(broken):
    token = broken.session()
    broken.upload(token)
    broken.wharf.publisher.request(UPLOADER, token)
    broken.deliver()
    assert broken.wharf.sessions.view(UPLOADER, token).status is SessionStatus.PUBLISHED
    with pytest.raises(AuthenticationError):
        broken.wharf.tokens.authenticate("wharf_unknown", source="10.0.0.1")
