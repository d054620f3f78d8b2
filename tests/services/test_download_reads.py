"""A warm instance answers repeated downloads from what it read moments ago
(services/read_cache.py): fewer DynamoDB and S3 reads per install, never a refusal of a
file published since, and a quarantine applied everywhere within WHARF_READ_CACHE_SECONDS."""

from __future__ import annotations

import pytest

from chalicelib.domain.catalog import ProjectStatus
from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.tokens import Principal, Role
from chalicelib.services.downloads import Inline
from tests.services.conftest import UPLOADER, WHEEL, World

READER = Principal(token_id="reader", role=Role.READ, projects=("acme-*",))
ADMIN = Principal(token_id="admin", role=Role.ADMIN)
METADATA = f"{WHEEL}.metadata"


def publish(world: World) -> None:
    token = world.session()
    world.upload(token)
    world.wharf.publisher.request(UPLOADER, token)
    assert world.deliver() == ["published"]


def reads(calls: list[str]) -> list[str]:
    return [c for c in calls if c != "presigned_get"]  # signing is local work, not a read


def test_repeated_downloads_within_the_cache_seconds_read_nothing(counted, clock):
    world, calls = counted()
    publish(world)
    first = world.wharf.downloads.published(READER, "acme-tools", METADATA)
    world.wharf.downloads.published(READER, "acme-tools", WHEEL)
    assert isinstance(first, Inline)
    assert reads(calls)

    calls.clear()
    clock.advance(seconds=4)
    assert world.wharf.downloads.published(READER, "acme-tools", METADATA) == first
    url = world.wharf.downloads.published(READER, "acme-tools", WHEEL)

    assert reads(calls) == []
    assert isinstance(url, str) and WHEEL in url


def test_after_the_cache_seconds_they_are_read_again(counted, clock):
    world, calls = counted()
    publish(world)
    world.wharf.downloads.published(READER, "acme-tools", WHEEL)
    calls.clear()

    clock.advance(seconds=5)
    world.wharf.downloads.published(READER, "acme-tools", WHEEL)

    assert "project" in calls and "published_file" in calls


def test_with_no_cache_seconds_every_download_reads(counted):
    world, calls = counted(read_cache_seconds=0)
    publish(world)
    world.wharf.downloads.published(READER, "acme-tools", WHEEL)
    calls.clear()

    world.wharf.downloads.published(READER, "acme-tools", WHEEL)

    assert reads(calls) == ["project", "published_file"]


def test_a_file_asked_for_before_it_was_published_is_served_right_after(counted):
    world, _ = counted()
    token = world.session()
    world.upload(token)
    with pytest.raises(NotFoundError):
        world.wharf.downloads.published(READER, "acme-tools", WHEEL)

    world.wharf.publisher.request(UPLOADER, token)
    world.deliver()

    assert WHEEL in world.wharf.downloads.published(READER, "acme-tools", WHEEL)


def test_a_quarantine_applies_once_the_cache_seconds_have_passed(counted, clock):
    world, _ = counted()
    publish(world)
    world.wharf.downloads.published(READER, "acme-tools", WHEEL)

    world.wharf.moderation.set_status("acme-tools", ProjectStatus.QUARANTINED, "malware", by=ADMIN)
    clock.advance(seconds=5)

    with pytest.raises(NotFoundError):
        world.wharf.downloads.published(READER, "acme-tools", WHEEL)


def test_a_files_url_is_the_same_for_half_its_life_so_installer_caches_keep_it(counted, clock):
    world, calls = counted(download_url_seconds=300)
    publish(world)
    first = world.wharf.downloads.published(READER, "acme-tools", WHEEL)
    assert isinstance(first, str) and first.endswith("&immutable")
    calls.clear()

    clock.advance(seconds=149)
    assert world.wharf.downloads.published(READER, "acme-tools", WHEEL) == first
    assert "presigned_get" not in calls

    clock.advance(seconds=1)
    world.wharf.downloads.published(READER, "acme-tools", WHEEL)
    assert "presigned_get" in calls  # signed anew: what it gives out lives 150 s at least


def test_the_same_url_goes_only_to_callers_allowed_to_read(counted):
    world, _ = counted()
    publish(world)
    assert WHEEL in world.wharf.downloads.published(READER, "acme-tools", WHEEL)
    stranger = Principal(token_id="other", role=Role.UPLOAD, projects=("other-*",))
    with pytest.raises(NotFoundError):
        world.wharf.downloads.published(stranger, "acme-tools", WHEEL)


def test_a_staged_files_url_is_signed_for_each_request_and_not_called_immutable(counted):
    """A staged file can still be deleted and sent again under its name: its URL is never
    remembered, and S3 is not told its bytes never change."""
    world, calls = counted()
    token = world.session()
    world.upload(token)
    first = world.wharf.downloads.staged(token, WHEEL)
    assert isinstance(first, str) and WHEEL in first and not first.endswith("&immutable")
    calls.clear()
    world.wharf.downloads.staged(token, WHEEL)
    assert "presigned_get" in calls
