"""The legacy upload API through the app, on moto."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from urllib3 import encode_multipart_formdata

from tests.builders import metadata_text, sha256, wheel_bytes
from tests.conftest import basic
from tests.upload_client import UploadClient, deliver_events, publish

# Contract-tested fakes (tests/adapters): these behaviours need nothing only moto shows.
pytestmark = pytest.mark.memory

WHEEL = "acme_tools-1.0-py3-none-any.whl"


def form(data: bytes, filename: str = WHEEL, **fields: str) -> tuple[bytes, str]:
    base = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": "acme-tools",
        "version": "1.0",
        "filetype": "bdist_wheel",
        "sha256_digest": sha256(data),
    }
    base.update(fields)
    parts = [(k, v) for k, v in base.items() if v is not None]
    parts.append(("content", (filename, data, "application/octet-stream")))
    return encode_multipart_formdata(parts)


def post(http, secret, data, **fields):
    body, content_type = form(data, **fields)
    return http.post("/legacy/", headers={**basic(secret), "Content-Type": content_type}, body=body)


@pytest.fixture
def uploader(issue):
    return issue("upload", ("acme-*",))


def test_upload_publishes_at_once(http, uploader, issue):
    reply = post(http, uploader, wheel_bytes())
    assert reply.status_code == 200, reply.body
    page = http.get(
        "/simple/acme-tools/",
        headers={**basic(issue("read")), "Accept": "application/vnd.pypi.simple.v1+json"},
    )
    assert [f["filename"] for f in json.loads(page.body)["files"]] == [WHEEL]


def test_identical_reupload_is_200_other_bytes_400(http, uploader):
    data = wheel_bytes()
    assert post(http, uploader, data).status_code == 200
    assert post(http, uploader, data).status_code == 200
    other = post(http, uploader, wheel_bytes(files={"acme_tools/x.py": b"x"}))
    assert other.status_code == 400
    assert b"File already exists" in other.body


@pytest.mark.parametrize(
    ("fields", "status", "text"),
    [
        ({":action": "submit"}, 400, b"action"),
        ({"sha256_digest": "0" * 64}, 400, b"sha256 digest"),
        ({"md5_digest": "0" * 32}, 400, b"md5 digest"),
        ({"name": "other"}, 400, b"The form says"),
        ({"version": "2.0"}, 400, b"version"),
    ],
)
def test_bad_forms(http, uploader, fields, status, text):
    reply = post(http, uploader, wheel_bytes(), **fields)
    assert reply.status_code == status
    assert text in reply.body


def test_invalid_file_and_auth(http, uploader, issue):
    bad = post(http, uploader, wheel_bytes(metadata=metadata_text(name="other")))
    assert bad.status_code == 400 and b"does not match the project" in bad.body
    assert post(http, "wharf_nope", wheel_bytes()).status_code == 401
    assert post(http, issue("upload", ("other",)), wheel_bytes()).status_code == 403
    not_form = http.post(
        "/legacy/", headers={**basic(uploader), "Content-Type": "text/plain"}, body=b"x"
    )
    assert not_form.status_code == 415


def test_too_large_points_to_wharf_upload(http, uploader, rebuild):
    rebuild(inline_limit_bytes=100)
    reply = post(http, uploader, wheel_bytes())
    assert reply.status_code == 413
    assert b"wharf upload" in reply.body


def test_staged_upload_creates_a_legacy_session(http, uploader, app_client, aws):
    reply = post(http, uploader, wheel_bytes(), staged="true")
    assert reply.status_code == 200
    session = json.loads(reply.body)
    assert session["status"] == "open"
    assert session["files"][WHEEL]["status"] == "completed"
    sdist_name = "acme_tools-1.0.tar.gz"
    from tests.builders import sdist_bytes

    sdist = sdist_bytes()
    body, content_type = form(sdist, filename=sdist_name, staged="true", filetype="sdist")
    joined = http.post(
        "/legacy/", headers={**basic(uploader), "Content-Type": content_type}, body=body
    )
    assert json.loads(joined.body)["session-token"] == session["session-token"]
    client = UploadClient(http, uploader)

    class Reply:
        json = session

    # Upload 2.0 may not add to it (creation paths are not mixed)...
    assert client.add_file(Reply, "acme_tools-1.0-py2-none-any.whl", b"x").status == 409
    # ...but may publish it.
    assert publish(client, Reply).status == 202
    deliver_events(app_client, aws)
    assert client.session(Reply).json["status"] == "published"


def test_staged_upload_refused_when_an_upload2_session_is_open(http, uploader):
    UploadClient(http, uploader).create()
    reply = post(http, uploader, wheel_bytes(), staged="true")
    assert reply.status_code == 409


def test_race_legacy_against_upload2_publish(http, uploader, app_client, aws, wharf):
    """The same filename through both paths at once: exactly one published copy."""
    client = UploadClient(http, uploader)
    session = client.create()
    data = wheel_bytes()
    client.upload(session, WHEEL, data)
    deliver_events(app_client, aws)
    other = wheel_bytes(files={"acme_tools/legacy.py": b"1"})
    results: dict[str, int] = {}
    barrier = threading.Barrier(2)

    # The services directly: chalice's test client shares one current_request across threads.
    from chalicelib.api.problems import _status_for
    from chalicelib.domain.errors import WharfError
    from chalicelib.services.legacy import LegacyUpload

    principal = wharf.tokens.authenticate(uploader)

    def outcome(call, ok: int) -> int:
        try:
            call()
            return ok
        except WharfError as error:
            return _status_for(error)[0]

    def legacy() -> None:
        barrier.wait()
        upload = LegacyUpload(fields={":action": ["file_upload"]}, filename=WHEEL, content=other)
        results["legacy"] = outcome(lambda: wharf.legacy.upload(principal, upload), 200)

    def upload2() -> None:
        barrier.wait()
        token = session.json["session-token"]
        results["upload2"] = outcome(lambda: wharf.publisher.request(principal, token), 202)

    threads = [threading.Thread(target=legacy), threading.Thread(target=upload2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deliver_events(app_client, aws)
    winners = [k for k, v in results.items() if v in (200, 202)]
    assert len(winners) == 1, results
    loser = "upload2" if winners == ["legacy"] else "legacy"
    assert results[loser] in (400, 409)
    published = wharf.stores.catalog.committed_files("acme-tools")
    assert [f.filename for f in published] == [WHEEL]
    expected = sha256(other) if winners == ["legacy"] else sha256(data)
    assert published[0].sha256 == expected
    assert hashlib  # sha256 of the winner is what the index serves


def test_staged_retry_is_200_and_unchanged(http, uploader):
    data = wheel_bytes()
    first = post(http, uploader, data, staged="true")
    again = post(http, uploader, data, staged="true")
    assert again.status_code == 200
    assert json.loads(again.body)["session-token"] == json.loads(first.body)["session-token"]
    assert list(json.loads(again.body)["files"]) == [WHEEL]


def test_staged_upload_of_a_name_being_published_is_409(http, uploader, app_client, aws):
    client = UploadClient(http, uploader)
    session = client.create()
    client.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    assert publish(client, session).status == 202  # reserved, not yet published
    assert post(http, uploader, wheel_bytes(), staged="true").status_code == 409
    deliver_events(app_client, aws)
    other = wheel_bytes(files={"acme_tools/x.py": b"x"})
    reply = post(http, uploader, other, staged="true")
    assert reply.status_code == 400 and b"File already exists" in reply.body
