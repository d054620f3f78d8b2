"""One rule set on both doors, through HTTP: Upload 2.0, legacy and legacy staged=true.

Old conventions PyPI accepted are published on both doors (with a warning notice);
every hostile archive is refused on the legacy door with its rule code and leaves
nothing behind (tests/app/test_bad_inputs.py drives the same cases through Upload 2.0);
local versions, closed projects and second spellings of a file are refused alike.
"""

from __future__ import annotations

import json

import pytest
from urllib3 import encode_multipart_formdata

from chalicelib.domain.inspection.limits import Limits
from tests.app.test_bad_inputs import snapshot
from tests.builders import (
    metadata_text,
    pax_header_sdist,
    sdist_bytes,
    sha256,
    symlink_chain_sdist,
    wheel_bytes,
    zip_sdist_bytes,
)
from tests.conftest import basic
from tests.unit.test_validation import CONVENTIONS, SDIST_CASES, WHEEL_CASES
from tests.upload_client import UploadClient, deliver_events, publish

# Contract-tested fakes (tests/adapters) unless a test reads AWS itself (marked moto).
pytestmark = pytest.mark.memory

JSON = "application/vnd.pypi.simple.v1+json"
TEST_LIMITS = Limits(ratio_floor_bytes=1024 * 1024, max_members=50)


def legacy_post(http, secret, filename, data, **fields):
    base = {
        ":action": "file_upload",
        "protocol_version": "1",
        "sha256_digest": sha256(data),
        **fields,
    }
    parts = [(k, v) for k, v in base.items() if v is not None]
    parts.append(("content", (filename, data, "application/octet-stream")))
    body, content_type = encode_multipart_formdata(parts)
    return http.post("/legacy/", headers={**basic(secret), "Content-Type": content_type}, body=body)


def listed(http, issue, project) -> list[str]:
    page = http.get(f"/simple/{project}/", headers={**basic(issue("read")), "Accept": JSON})
    return (
        [f["filename"] for f in json.loads(page.body)["files"]] if page.status_code == 200 else []
    )


@pytest.fixture
def secret(issue):
    return issue("upload", ("*",))


@pytest.fixture
def small_limits(rebuild):
    """The hostile fixtures are small: so are the bomb floor and the member cap."""
    return rebuild(
        compression_ratio_floor_bytes=TEST_LIMITS.ratio_floor_bytes,
        max_archive_members=TEST_LIMITS.max_members,
    )


# --- old conventions: published on both doors -------------------------------------------------


@pytest.mark.parametrize("case", sorted(CONVENTIONS))
def test_conventions_publish_through_upload_2(case, http, secret, issue, app_client, aws):
    filename, project, version, data, expected = CONVENTIONS[case]
    client = UploadClient(http, secret)
    session = client.create(name=project, version=version)
    assert session.status == 201, session
    file = client.upload(session, filename, data)
    deliver_events(app_client, aws)
    status = client.file_status(file).json
    assert status["status"] == "completed", status
    assert {n.split(":", 1)[0] for n in status["notices"]} == expected
    assert publish(client, session).status == 202
    deliver_events(app_client, aws)
    assert listed(http, issue, project) == [filename]


@pytest.mark.parametrize("case", sorted(CONVENTIONS))
def test_conventions_publish_through_legacy(case, http, secret, issue):
    filename, project, version, data, _ = CONVENTIONS[case]
    reply = legacy_post(http, secret, filename, data, name=project, version=version)
    assert reply.status_code == 200, reply.body
    assert listed(http, issue, project) == [filename]


def test_conventions_stage_through_legacy(http, secret):
    data = zip_sdist_bytes("acme-tools", "1.0")
    reply = legacy_post(http, secret, "acme-tools-1.0.zip", data, name="acme-tools", staged="true")
    assert reply.status_code == 200, reply.body
    file = json.loads(reply.body)["files"]["acme-tools-1.0.zip"]
    assert file["status"] == "completed"
    assert [n.split(":", 1)[0] for n in file["notices"]] == ["sdist-zip"]


# --- hostile archives: refused on the legacy door, nothing kept ---------------------------------

# Issue 11's cases (and the archive basics): the legacy door runs the very function the
# unit tests drive with every case, so each case here proves the door, not the rule.
_ISSUE_WHEEL_CASES = (
    "bytes hidden between members",
    "bytes hidden in a directory entry",
    "zip that is also a tar",
    "md5 in RECORD",
    "direct URL in Requires-Dist",
    "Summary over 512 characters",
    "unknown classifier",
    "invalid Author-email",
    "broken entry_points.txt",
    "zip bomb",
    "symlink member",
    "dot-dot path",
)
_ISSUE_SDIST_CASES = (
    "PAX header over the cap",
    "symlink chain",
    "symlink through a symlink",
    "trailing garbage",
    "second gzip member",
    "data after the end of the tar",
    "zip-tar polyglot",
    "gzip bomb",
    "hardlink outside",
    "two top dirs",
)
LEGACY_CASES = {
    **{
        f"wheel: {k}": ("acme_tools-1.0-py3-none-any.whl", WHEEL_CASES[k][0], WHEEL_CASES[k][2])
        for k in _ISSUE_WHEEL_CASES
    },
    **{
        f"sdist: {k}": ("acme_tools-1.0.tar.gz", SDIST_CASES[k][0], SDIST_CASES[k][1])
        for k in _ISSUE_SDIST_CASES
    },
}


@pytest.mark.moto  # reads AWS itself
@pytest.mark.parametrize("case", sorted(LEGACY_CASES))
def test_hostile_files_are_refused_by_legacy(case, http, secret, aws, small_limits):
    filename, data, code = LEGACY_CASES[case]
    before = snapshot(aws)
    reply = legacy_post(http, secret, filename, data, name="acme-tools")
    assert reply.status_code == 400, reply.body
    assert f"{code}:".encode() in reply.body, reply.body
    assert snapshot(aws) == before


@pytest.mark.moto  # reads AWS itself
@pytest.mark.parametrize(
    ("filename", "data", "code"),
    [
        ("acme_tools-1.0.tar.gz", symlink_chain_sdist(), "sdist-link"),
        ("acme_tools-1.0.tar.gz", pax_header_sdist(2 * 1024 * 1024), "tar-header-size"),
        ("acme_tools-1.0.tar.gz", sdist_bytes() + b"garbage", "gzip-trailing-data"),
        (
            "acme_tools-1.0-py3-none-any.whl",
            wheel_bytes(metadata=metadata_text(summary="x" * 600)),
            "metadata-summary",
        ),
    ],
)
def test_hostile_files_are_refused_by_legacy_staged(
    filename, data, code, http, secret, aws, small_limits
):
    before = snapshot(aws)
    reply = legacy_post(http, secret, filename, data, name="acme-tools", staged="true")
    assert reply.status_code == 400, reply.body
    assert f"{code}:".encode() in reply.body
    assert snapshot(aws) == before


@pytest.mark.moto  # reads AWS itself
def test_pax_header_bomb_through_upload_2(http, secret, app_client, aws, small_limits):
    """The shape of issue 11's 127 KiB sdist (scaled down): an error, and no bytes kept."""
    client = UploadClient(http, secret)
    session = client.create()
    before = snapshot(aws)
    file = client.upload(session, "acme_tools-1.0.tar.gz", pax_header_sdist(4 * 1024 * 1024))
    deliver_events(app_client, aws)
    status = client.file_status(file).json
    assert status["status"] == "error"
    assert status["notices"][0].startswith("tar-header-size:")
    assert client.delete_file(file).status == 204
    assert snapshot(aws)[1:] == before[1:]


# --- two doors, one rule set ------------------------------------------------------------------

LOCAL = "acme_tools-1.0+evil-py3-none-any.whl"
LOCAL_DATA = wheel_bytes(version="1.0+evil", metadata=metadata_text(version="1.0+evil"))


@pytest.mark.moto  # reads AWS itself
@pytest.mark.parametrize("staged", [None, "true"])
def test_local_versions_are_refused_by_legacy(staged, http, secret, issue, aws):
    before = snapshot(aws)
    reply = legacy_post(http, secret, LOCAL, LOCAL_DATA, name="acme-tools", staged=staged)
    assert reply.status_code == 400
    assert b"local version" in reply.body
    assert snapshot(aws) == before
    assert listed(http, issue, "acme-tools") == []


@pytest.mark.moto  # reads AWS itself
def test_local_versions_are_refused_by_upload_2(http, secret, aws):
    before = snapshot(aws)
    reply = UploadClient(http, secret).create(version="1.0+evil")
    assert reply.status == 400
    assert snapshot(aws) == before


def _set_status(http, admin, status):
    reply = http.put(
        "/admin/projects/acme-tools/status",
        headers={**basic(admin), "Content-Type": "application/json"},
        body=json.dumps({"status": status}).encode(),
    )
    assert reply.status_code in (200, 204), reply.body


@pytest.mark.moto  # reads AWS itself
@pytest.mark.parametrize("status", ["archived", "quarantined"])
def test_closed_projects_take_no_uploads_on_any_door(status, http, secret, admin, app_client, aws):
    client = UploadClient(http, secret)
    assert (
        legacy_post(http, secret, "acme_tools-1.0-py3-none-any.whl", wheel_bytes()).status_code
        == 200
    )
    opened = client.create(version="2.0")  # before the status changes
    _set_status(http, admin, status)
    before = snapshot(aws)

    created = client.create(version="3.0")
    assert created.status == 403
    assert created.json["errors"][0]["code"] == "project-closed"
    data = wheel_bytes(version="2.0", metadata=metadata_text(version="2.0"))
    added = client.add_file(opened, "acme_tools-2.0-py3-none-any.whl", data)
    assert added.status == 403
    for staged in (None, "true"):
        data = wheel_bytes(version="3.0", metadata=metadata_text(version="3.0"))
        reply = legacy_post(
            http, secret, "acme_tools-3.0-py3-none-any.whl", data, name="acme-tools", staged=staged
        )
        assert reply.status_code == 403
        assert status.encode() in reply.body
    assert snapshot(aws) == before

    _set_status(http, admin, "active")
    assert client.create(version="3.0").status == 201


@pytest.mark.moto  # reads AWS itself
def test_one_spelling_per_file_on_both_doors(http, secret, issue, app_client, aws):
    client = UploadClient(http, secret)
    first = "acme_tools-1.0-py3-none-any.whl"
    assert legacy_post(http, secret, first, wheel_bytes()).status_code == 200
    respelled = "acme_tools-1.0.0-py3-none-any.whl"
    data = wheel_bytes(version="1.0.0", metadata=metadata_text(version="1.0.0"))
    before = snapshot(aws)
    reply = legacy_post(http, secret, respelled, data, name="acme-tools")
    assert reply.status_code == 400 and b"File already exists" in reply.body
    session = client.create(version="1.0.0")
    assert session.status == 201
    added = client.add_file(session, respelled, data)
    assert added.status == 409
    assert added.json["errors"][0]["code"] == "filename-taken"
    assert client.cancel(session).status in (200, 204)
    assert listed(http, issue, "acme-tools") == [first]
    assert snapshot(aws)[1:] == before[1:]  # no bytes kept (the canceled session's record is)


def test_two_spellings_in_one_session_are_refused(http, secret):
    client = UploadClient(http, secret)
    session = client.create()
    assert client.add_file(session, "acme_tools-1.0-py3-none-any.whl", wheel_bytes()).status == 202
    other = client.add_file(session, "Acme_Tools-1.0.0-py3-none-any.whl", wheel_bytes())
    assert other.status == 409


@pytest.mark.moto  # reads AWS itself
def test_one_sdist_per_release_and_format_on_both_doors(http, secret, issue, aws):
    client = UploadClient(http, secret)
    assert legacy_post(http, secret, "acme_tools-1.0.tar.gz", sdist_bytes()).status_code == 200
    before = snapshot(aws)
    for filename, data in (
        ("acme-tools-1.0.tar.gz", sdist_bytes("acme-tools", "1.0")),
        ("acme_tools-1.0.0.tar.gz", sdist_bytes(version="1.0.0")),
    ):
        reply = legacy_post(http, secret, filename, data, name="acme-tools")
        assert reply.status_code == 400, (filename, reply.body)
        assert "one sdist per release and format" in reply.body.decode()
    assert snapshot(aws) == before
    session = client.create(version="1.0.0")
    added = client.add_file(session, "acme_tools-1.0.0.tar.gz", sdist_bytes(version="1.0.0"))
    assert added.status == 409
    assert listed(http, issue, "acme-tools") == ["acme_tools-1.0.tar.gz"]


def test_a_zip_sdist_beside_the_tar_gz_as_pypi_took_them(http, secret, issue):
    assert legacy_post(http, secret, "acme_tools-1.0.tar.gz", sdist_bytes()).status_code == 200
    zipped = zip_sdist_bytes("acme-tools", "1.0")
    reply = legacy_post(http, secret, "acme-tools-1.0.zip", zipped, name="acme-tools")
    assert reply.status_code == 200, reply.body
    assert listed(http, issue, "acme-tools") == ["acme-tools-1.0.zip", "acme_tools-1.0.tar.gz"]
    again = legacy_post(http, secret, "acme_tools-1.0.0.zip", zipped, name="acme-tools")
    assert again.status_code == 400
