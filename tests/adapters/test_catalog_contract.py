"""The Catalog contract, on the fake and on DynamoDB."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.catalog import ProjectState, ProjectStatus, ReleaseCommit
from chalicelib.domain.errors import ConflictError, NotFoundError, StateChangedError
from chalicelib.domain.index import FileEntry
from tests.adapters.conftest import NOW

WHEEL = "acme_tools-1.0-py3-none-any.whl"


def entry(filename: str = WHEEL, version: str = "1.0") -> FileEntry:
    return FileEntry(
        filename=filename,
        version=version,
        size=10,
        sha256="a" * 64,
        upload_time="2001-01-01T12:00:00.000000Z",
        requires_python=">=3.9",
        metadata_sha256="b" * 64,
    )


def commit(catalog, holder: str, serial: int, *, files: bool = True, new: bool = True) -> None:
    catalog.commit(
        ReleaseCommit(
            project="acme-tools",
            version="1.0",
            holder=holder,
            serial=serial,
            at=NOW,
            keep_until=NOW + timedelta(days=7),
            has_files=files,
            via_session=False,
            list_project=new,
        )
    )


def test_files_show_only_once_their_release_commits(backend):
    catalog = backend.stores.catalog
    assert catalog.project("acme-tools") is None
    catalog.put_release_files("acme-tools", "legacy:a", [entry()])
    assert catalog.committed_files("acme-tools") == []
    assert catalog.published_file("acme-tools", WHEEL) is None
    commit(catalog, "legacy:a", catalog.next_serial())
    assert catalog.committed_files("acme-tools") == [entry()]
    assert catalog.published_file("acme-tools", WHEEL) == entry()
    project = catalog.project("acme-tools")
    assert project.state is ProjectState.PUBLISHED and project.status is ProjectStatus.ACTIVE
    assert catalog.listed_projects() == ["acme-tools"]


def test_a_file_keeps_where_its_bytes_are_stored(backend):
    catalog = backend.stores.catalog
    stored = replace(entry(), key="files/u/Qx3-file-id_/acme_tools-1.0-py3-none-any.whl")
    catalog.put_release_files("acme-tools", "SESSION-A", [stored])
    commit(catalog, "SESSION-A", catalog.next_serial())
    assert catalog.published_file("acme-tools", WHEEL) == stored
    assert catalog.committed_files("acme-tools") == [stored]


def test_release_files_of_another_holder_are_refused(backend):
    catalog = backend.stores.catalog
    catalog.put_release_files("acme-tools", "legacy:a", [entry()])
    catalog.put_release_files("acme-tools", "legacy:a", [entry()])  # idempotent
    with pytest.raises(StateChangedError):
        catalog.put_release_files("acme-tools", "legacy:b", [entry()])
    catalog.drop_release_files("acme-tools", "legacy:b", [WHEEL])
    catalog.drop_release_files("acme-tools", "legacy:a", [WHEEL])
    catalog.put_release_files("acme-tools", "legacy:b", [entry()])


def test_serials_only_rise(backend):
    catalog = backend.stores.catalog
    first, second = catalog.next_serial(), catalog.next_serial()
    assert second > first
    commit(catalog, "legacy:a", second)
    with pytest.raises(StateChangedError):
        commit(catalog, "legacy:b", first, new=False)


def test_renders_are_due_until_marked_and_never_lowered(backend):
    catalog = backend.stores.catalog
    serial = catalog.next_serial()
    commit(catalog, "legacy:a", serial)
    assert catalog.render_due(NOW + timedelta(minutes=1)) == ["acme-tools"]
    assert catalog.render_due(NOW) == []
    catalog.mark_rendered("acme-tools", serial)
    assert catalog.render_due(NOW + timedelta(minutes=1)) == []
    catalog.mark_rendered("acme-tools", serial - 1)
    assert catalog.project("acme-tools").rendered_serial == serial


def test_moderation(backend):
    catalog = backend.stores.catalog
    with pytest.raises(ConflictError):
        catalog.raise_serial("acme-tools", at=NOW)
    catalog.put_release_files("acme-tools", "legacy:a", [entry()])
    commit(catalog, "legacy:a", catalog.next_serial())
    catalog.set_yanked("acme-tools", [WHEEL], "broken")
    assert catalog.committed_files("acme-tools")[0].yanked == "broken"
    catalog.set_yanked("acme-tools", [WHEEL], None)
    assert catalog.committed_files("acme-tools")[0].yanked is None
    before = catalog.project("acme-tools").serial
    serial = catalog.raise_serial(
        "acme-tools", at=NOW, status=ProjectStatus.QUARANTINED, reason="look", set_status=True
    )
    project = catalog.project("acme-tools")
    assert serial > before and project.serial == serial
    assert (project.status, project.status_reason) == (ProjectStatus.QUARANTINED, "look")
    catalog.set_listed("acme-tools", False)
    assert catalog.listed_projects() == []


def test_uploaders_may_cancel_their_own_sessions_only_where_a_project_says_so(backend):
    catalog = backend.stores.catalog
    with pytest.raises(NotFoundError):
        catalog.set_uploaders_cancel_own("acme-tools", True)
    assert catalog.project("acme-tools") is None
    catalog.put_release_files("acme-tools", "legacy:a", [entry()])
    commit(catalog, "legacy:a", catalog.next_serial())
    assert catalog.project("acme-tools").uploaders_cancel_own is False
    catalog.set_uploaders_cancel_own("acme-tools", True)
    assert catalog.project("acme-tools").uploaders_cancel_own is True
    catalog.set_uploaders_cancel_own("acme-tools", False)
    assert catalog.project("acme-tools").uploaders_cancel_own is False


def test_a_commit_records_who_published_the_release(backend):
    from chalicelib.domain.audit import ReleasePublisher
    from chalicelib.domain.identity import IssuerKind, PublisherIdentity

    catalog = backend.stores.catalog
    by = ReleasePublisher(
        token_id="t-ci",
        publisher=PublisherIdentity(
            publisher_id="gh",
            kind=IssuerKind.GITHUB,
            issuer="https://token.actions.githubusercontent.com",
            repository="acme/tools",
            workflow="release.yml",
            run_id="7",
        ),
    )
    for holder, version, who in (("legacy:a", "1.0", by), ("legacy:b", "2.0", None)):
        catalog.put_release_files(
            "acme-tools", holder, [entry(f"acme_tools-{version}.tar.gz", version)]
        )
        catalog.commit(
            ReleaseCommit(
                project="acme-tools",
                version=version,
                holder=holder,
                serial=catalog.next_serial(),
                at=NOW,
                keep_until=NOW + timedelta(days=7),
                has_files=True,
                via_session=False,
                published_by=who,
            )
        )
    assert catalog.release_publishers("acme-tools") == {"1.0": by}
    assert catalog.release_publishers("other") == {}


def test_a_files_provenance_publisher_round_trips(backend):
    catalog = backend.stores.catalog
    attested = FileEntry(
        **{**entry().__dict__, "provenance_publisher": '{"kind":"GitHub","repository":"a/b"}'}
    )
    catalog.put_release_files("acme-tools", "legacy:a", [attested])
    commit(catalog, "legacy:a", catalog.next_serial())
    assert catalog.published_file("acme-tools", WHEEL) == attested


def test_the_published_serial_is_the_projects_serial_once_it_has_a_release(backend):
    catalog = backend.stores.catalog
    assert catalog.published_serial("acme-tools") is None
    catalog.put_release_files("acme-tools", "legacy:a", [entry()])
    assert catalog.published_serial("acme-tools") is None  # nothing committed yet
    commit(catalog, "legacy:a", catalog.next_serial())
    assert catalog.published_serial("acme-tools") == catalog.project("acme-tools").serial
    raised = catalog.raise_serial("acme-tools", at=NOW)
    assert catalog.published_serial("acme-tools") == raised


def test_a_raised_serial_is_render_due_until_marked(backend):
    catalog = backend.stores.catalog
    first = catalog.next_serial()
    commit(catalog, "legacy:a", first)
    catalog.mark_rendered("acme-tools", first)
    assert catalog.render_due(NOW + timedelta(days=1)) == []

    raised = catalog.raise_serial("acme-tools", at=NOW + timedelta(minutes=5))

    assert catalog.render_due(NOW + timedelta(minutes=5)) == []
    assert catalog.render_due(NOW + timedelta(minutes=6)) == ["acme-tools"]
    catalog.mark_rendered("acme-tools", raised)
    assert catalog.render_due(NOW + timedelta(days=1)) == []
