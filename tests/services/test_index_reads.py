"""A warm instance serves a project's page from memory while the project's record says it
shows every commit (services/index_reader.py): one catalog read instead of an S3 GET,
and never a page older than the one in the bucket."""

from __future__ import annotations

import json

from chalicelib.domain.catalog import ProjectStatus
from chalicelib.domain.negotiation import IndexFormat
from chalicelib.domain.tokens import Principal, Role
from tests.builders import wheel_bytes
from tests.services.conftest import UPLOADER, World

ADMIN = Principal(token_id="admin", role=Role.ADMIN)
JSON = IndexFormat.JSON


def publish(world: World, version: str) -> None:
    token = world.session(version=version)
    world.upload(token, f"acme_tools-{version}-py3-none-any.whl", wheel_bytes(version=version))
    world.wharf.publisher.request(UPLOADER, token)
    assert world.deliver() == ["published"]


def page(world: World, fmt: IndexFormat = JSON) -> dict:
    found = world.wharf.index.project("acme-tools", fmt)
    assert found is not None
    return json.loads(found.body) if fmt is JSON else {"html": found.body.decode()}


def test_an_unchanged_page_is_served_from_memory_after_one_catalog_read(counted):
    world, calls = counted()
    publish(world, "1.0")
    first = page(world)
    calls.clear()

    assert page(world) == first
    assert calls == ["published_serial"]  # the record's serial; no S3 GET


def test_each_format_is_kept_apart(counted):
    world, calls = counted()
    publish(world, "1.0")
    html = page(world, IndexFormat.HTML)
    json_page = page(world)
    calls.clear()

    assert page(world, IndexFormat.HTML) == html
    assert page(world) == json_page
    assert calls == ["published_serial", "published_serial"]


def test_a_new_release_is_on_the_next_read(counted):
    world, _ = counted()
    publish(world, "1.0")
    assert page(world)["versions"] == ["1.0"]

    publish(world, "1.1")

    assert page(world)["versions"] == ["1.0", "1.1"]


def test_a_yank_and_a_status_change_are_on_the_next_read(counted):
    world, _ = counted()
    publish(world, "1.0")
    page(world)

    world.wharf.moderation.yank("acme-tools", "1.0", "broken", yanked=True, by=ADMIN)
    assert page(world)["files"][0]["yanked"] == "broken"

    world.wharf.moderation.set_status(
        "acme-tools", ProjectStatus.DEPRECATED, "use acme-tools2", by=ADMIN
    )
    assert page(world)["project-status"]["status"] == "deprecated"


def test_a_page_behind_the_projects_serial_is_read_again(counted):
    """Between a commit and its render the record's serial is ahead of every page: the
    bucket is asked each time, as without the memory, until the new page is there."""
    world, calls = counted()
    publish(world, "1.0")
    page(world)
    catalog = world.wharf.stores.catalog
    catalog.raise_serial("acme-tools", at=world.wharf.audit.now())  # a change not rendered yet
    calls.clear()

    page(world)
    page(world)

    assert calls.count("get") == 2


def test_with_no_cache_bytes_every_read_is_a_get(counted):
    world, calls = counted(index_cache_bytes=0)
    publish(world, "1.0")
    page(world)
    calls.clear()

    page(world)

    assert calls == ["get"]


def test_a_page_larger_than_the_memory_is_not_kept(counted):
    world, calls = counted(index_cache_bytes=100)
    publish(world, "1.0")
    page(world)
    calls.clear()

    page(world)

    assert calls == ["published_serial", "get"]


def test_a_name_with_no_published_release_costs_no_get(counted):
    """pip asks an --extra-index-url for every name: most are not here."""
    world, calls = counted()
    token = world.session()
    world.upload(token)  # reserved, not published
    calls.clear()

    assert world.wharf.index.project("acme-tools", JSON) is None
    assert world.wharf.index.project("numpy", JSON) is None
    assert calls == ["published_serial", "published_serial"]
