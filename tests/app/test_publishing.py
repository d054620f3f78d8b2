"""Publishing and the read path through the app, on moto."""

from __future__ import annotations

import json
import threading

import pytest

from tests.builders import metadata_text, sdist_bytes, sha256, wheel_bytes
from tests.conftest import basic
from tests.upload_client import UploadClient, deliver_events, path_of, publish, release

# Contract-tested fakes (tests/adapters) unless a test reads AWS itself (marked moto).
pytestmark = pytest.mark.memory

JSON = "application/vnd.pypi.simple.v1+json"
WHEEL = "acme_tools-1.0-py3-none-any.whl"
SDIST = "acme_tools-1.0.tar.gz"


@pytest.fixture
def reader(issue):
    return basic(issue("read"))


def page(http, headers, project="acme-tools", fmt=JSON):
    return http.get(f"/simple/{project}/", headers={**headers, "Accept": fmt})


def test_publish_makes_the_release_visible(uploader, http, reader, app_client, aws):
    wheel, sdist = wheel_bytes(), sdist_bytes()
    session = uploader.create()
    uploader.upload(session, WHEEL, wheel)
    uploader.upload(session, SDIST, sdist)
    deliver_events(app_client, aws)
    assert page(http, reader).status_code == 404  # not before publish
    published = publish(uploader, session)
    assert published.status == 202
    assert published.headers["Location"] == session.json["links"]["session"]
    assert published.json["status"] == "processing"
    assert page(http, reader).status_code == 404  # not before the publisher ran
    deliver_events(app_client, aws)
    assert uploader.session(session).json["status"] == "published"

    reply = page(http, reader)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == JSON
    doc = json.loads(reply.body)
    assert doc["meta"]["api-version"] == "1.4"
    assert doc["name"] == "acme-tools"
    assert doc["versions"] == ["1.0"]
    assert doc["project-status"] == {"status": "active"}
    by_name = {f["filename"]: f for f in doc["files"]}
    assert by_name[WHEEL]["hashes"] == {"sha256": sha256(wheel)}
    assert by_name[WHEEL]["size"] == len(wheel)
    assert by_name[WHEEL]["requires-python"] == ">=3.9"
    assert by_name[WHEEL]["core-metadata"]["sha256"]
    assert by_name[SDIST]["core-metadata"] is False
    assert by_name[WHEEL]["yanked"] is False
    assert by_name[WHEEL]["url"] == f"../../files/acme-tools/{WHEEL}"
    assert by_name[WHEEL]["upload-time"].endswith("Z")
    assert reply.headers["X-PyPI-Last-Serial"] == str(doc["meta"]["_last-serial"])

    html = page(http, reader, fmt="text/html").body.decode()
    assert 'data-requires-python="&gt;=3.9"' in html
    assert "data-core-metadata=" in html and "data-dist-info-metadata=" in html
    assert "<!--SERIAL" in html

    root = json.loads(http.get("/simple/", headers={**reader, "Accept": JSON}).body)
    assert root["projects"] == [{"name": "acme-tools"}]


@pytest.mark.moto  # reads AWS itself
def test_files_redirect_to_presigned_s3(uploader, http, reader, app_client, aws):
    wheel = wheel_bytes()
    release(uploader, app_client, aws, "acme-tools", "1.0", {WHEEL: wheel})
    reply = http.get(f"/files/acme-tools/{WHEEL}", headers=reader)
    assert reply.status_code == 302
    location = reply.headers["Location"]
    assert "X-Amz-Signature" in location and "X-Amz-Expires=300" in location
    import requests  # the presigned URL is honoured by moto's S3 through boto's own session

    # Served from where the upload wrote it: files/u/<file id>/<filename>.
    listed = aws.clients.s3.list_objects_v2(Bucket=aws.resources.bucket, Prefix="files/")
    [key] = [o["Key"] for o in listed["Contents"] if o["Key"].endswith(WHEEL)]
    assert key.startswith("files/u/") and key in location
    body = aws.clients.s3.get_object(Bucket=aws.resources.bucket, Key=key)["Body"].read()
    assert body == wheel
    assert requests  # imported for clarity of intent; the e2e tests follow the URL for real
    # Core metadata is answered directly: one round trip per candidate for pip and uv.
    metadata = http.get(f"/files/acme-tools/{WHEEL}.metadata", headers=reader)
    assert metadata.status_code == 200
    assert metadata.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert metadata.headers["X-Content-Type-Options"] == "nosniff"
    stored = aws.clients.s3.get_object(Bucket=aws.resources.bucket, Key=f"{key}.metadata")
    assert metadata.body == stored["Body"].read()
    assert metadata.headers["ETag"] == stored["ETag"]
    assert "Location" not in metadata.headers
    page_doc = json.loads(page(http, reader).body)
    [listed] = [f for f in page_doc["files"] if f["filename"] == WHEEL]
    assert listed["core-metadata"] == {"sha256": sha256(metadata.body)}
    again = http.get(
        f"/files/acme-tools/{WHEEL}.metadata",
        headers={**reader, "If-None-Match": metadata.headers["ETag"]},
    )
    assert again.status_code == 304 and not again.body
    assert http.get(f"/files/acme-tools/{WHEEL}.metadata", headers={}).status_code == 401
    assert http.get(f"/files/acme-tools/{WHEEL}", headers={}).status_code == 401
    assert http.get("/files/acme-tools/nope-1.0.tar.gz", headers=reader).status_code == 404


def test_publish_with_unfinished_files_is_409_naming_them(uploader, app_client, aws):
    session = uploader.create()
    uploader.add_file(session, WHEEL, wheel_bytes())
    reply = publish(uploader, session)
    assert reply.status == 409
    assert f"{WHEEL} is pending" in reply.json["detail"]
    assert reply.json["errors"] == [{"source": WHEEL, "message": "pending"}]
    assert uploader.session(session).json["status"] == "open"


def test_filename_collision_across_sessions_is_409(uploader, app_client, aws):
    first = uploader.create(version="1.0")
    uploader.upload(first, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    assert publish(uploader, first).status == 202
    deliver_events(app_client, aws)
    # A new session for the same release may not reuse the published filename.
    second = uploader.create(version="1.0")
    assert uploader.add_file(second, WHEEL, wheel_bytes()).status == 409


def test_cancel_after_publish_is_409_and_files_stay(uploader, http, reader, app_client, aws):
    session = release(uploader, app_client, aws, "acme-tools", "1.0", {WHEEL: wheel_bytes()})
    assert uploader.cancel(session).status in (404, 409)
    assert page(http, reader).status_code == 200


def test_empty_publish_registers_the_name(uploader, http, reader, app_client, aws):
    session = uploader.create(name="acme-empty", version="0.0.0a0")
    assert publish(uploader, session).status == 202
    deliver_events(app_client, aws)
    doc = json.loads(page(http, reader, "acme-empty").body)
    assert doc["files"] == [] and doc["versions"] == []
    root = json.loads(http.get("/simple/", headers={**reader, "Accept": JSON}).body)
    assert {"name": "acme-empty"} in root["projects"]


def test_read_path_rules(uploader, http, reader, issue, app_client, aws):
    release(uploader, app_client, aws, "acme-tools", "1.0", {WHEEL: wheel_bytes()})
    redirect = http.get("/simple/Acme_Tools/", headers=reader)
    assert redirect.status_code == 301 and redirect.headers["Location"] == "../acme-tools/"
    slashless = http.get("/simple/acme-tools", headers=reader)
    assert slashless.status_code == 301 and slashless.headers["Location"] == "/simple/acme-tools/"
    assert page(http, reader, "unknown-project").status_code == 404
    assert page(http, {}, "acme-tools").status_code == 401
    own = basic(issue("upload", ("acme-*",)))
    assert page(http, own).status_code == 200
    stranger = basic(issue("upload", ("other-*",)))
    assert page(http, stranger).status_code == 404
    first = page(http, reader)
    again = http.get(
        "/simple/acme-tools/",
        headers={**reader, "Accept": JSON, "If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304
    assert first.headers["Vary"] == "Accept"
    assert "max-age=" in first.headers["Cache-Control"]
    assert page(http, reader, fmt="application/json").status_code == 406


def test_reserved_name_is_404_on_the_read_path(uploader, http, reader):
    uploader.create(name="acme-secret")
    assert page(http, reader, "acme-secret").status_code == 404


def test_stage_preview_without_credentials(uploader, http, app_client, aws):
    wheel = wheel_bytes(version="2.0", metadata=metadata_text(version="2.0"))
    release(uploader, app_client, aws, "acme-tools", "1.0", {WHEEL: wheel_bytes()})
    session = uploader.create(version="2.0")
    uploader.upload(session, "acme_tools-2.0-py3-none-any.whl", wheel)
    deliver_events(app_client, aws)
    stage = path_of(session.json["links"]["stage"])
    root = http.get(stage, headers={"Accept": JSON})
    assert root.status_code == 200
    assert json.loads(root.body)["projects"] == [{"name": "acme-tools"}]
    listing = http.get(f"{stage}acme-tools/", headers={"Accept": JSON})
    assert listing.status_code == 200
    names = sorted(f["filename"] for f in json.loads(listing.body)["files"])
    assert names == ["acme_tools-1.0-py3-none-any.whl", "acme_tools-2.0-py3-none-any.whl"]
    for name in names:
        assert http.get(f"{stage}files/{name}").status_code == 302
    # The main index does not show staged files.
    reader = basic(uploader.secret)
    doc = json.loads(page(http, reader).body)
    assert [f["filename"] for f in doc["files"]] == ["acme_tools-1.0-py3-none-any.whl"]
    publish(uploader, session)
    deliver_events(app_client, aws)
    assert http.get(stage, headers={"Accept": JSON}).status_code == 404
    assert http.get("/stage/not-a-token/", headers={}).status_code == 404


def test_stage_preview_answers_core_metadata_itself(uploader, http, app_client, aws):
    """An installer reading a stage gets each wheel's .metadata in one round trip, the
    staged one's and the published one's alike; a staged one is revalidated."""
    staged_metadata = metadata_text(version="2.0")
    wheel = wheel_bytes(version="2.0", metadata=staged_metadata)
    release(uploader, app_client, aws, "acme-tools", "1.0", {WHEEL: wheel_bytes()})
    session = uploader.create(version="2.0")
    uploader.upload(session, "acme_tools-2.0-py3-none-any.whl", wheel)
    deliver_events(app_client, aws)
    stage = path_of(session.json["links"]["stage"])
    for name, expected in (
        ("acme_tools-2.0-py3-none-any.whl", staged_metadata),
        (WHEEL, metadata_text()),
    ):
        reply = http.get(f"{stage}files/{name}.metadata")
        assert reply.status_code == 200
        assert reply.body.decode() == expected
        assert reply.headers["Cache-Control"] == "private, no-cache"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        again = http.get(
            f"{stage}files/{name}.metadata", headers={"If-None-Match": reply.headers["ETag"]}
        )
        assert again.status_code == 304
    # The files themselves are still S3's to serve.
    assert http.get(f"{stage}files/acme_tools-2.0-py3-none-any.whl").status_code == 302


def test_crash_between_steps_converges_on_retry(
    uploader, http, reader, app_client, aws, wharf, monkeypatch
):
    session = uploader.create()
    uploader.upload(session, WHEEL, wheel_bytes())
    uploader.upload(session, SDIST, sdist_bytes())
    deliver_events(app_client, aws)
    publish(uploader, session)
    catalog = wharf.stores.catalog
    original = catalog.commit
    crashes = {"left": 1}

    def crash_once(*args, **kwargs):
        if crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("injected crash before commit")
        return original(*args, **kwargs)

    monkeypatch.setattr(catalog, "commit", crash_once)
    token = session.json["session-token"]
    with pytest.raises(RuntimeError):
        wharf.publisher.run(token, attempt=1)
    # Files were copied and recorded, but nothing is visible.
    assert page(http, reader).status_code == 404
    assert http.get(f"/files/acme-tools/{WHEEL}", headers=reader).status_code == 404
    assert wharf.publisher.run(token, attempt=2) == "published"
    doc = json.loads(page(http, reader).body)
    assert sorted(f["filename"] for f in doc["files"]) == sorted([WHEEL, SDIST])
    assert wharf.publisher.run(token, attempt=3) == "already published: re-rendered"


def test_last_attempt_failure_leaves_error_and_releases(
    uploader, app_client, aws, wharf, monkeypatch
):
    session = uploader.create()
    uploader.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    publish(uploader, session)

    def broken(*args, **kwargs):
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(wharf.stores.catalog, "put_release_files", broken)
    token = session.json["session-token"]
    assert wharf.publisher.run(token, attempt=5) == "error"
    status = uploader.session(session).json
    assert status["status"] == "error"
    assert any("publishing failed" in n for n in status["notices"])
    monkeypatch.undo()
    # The names were released: publishing again works.
    assert publish(uploader, session).status == 202
    deliver_events(app_client, aws)
    assert uploader.session(session).json["status"] == "published"


@pytest.mark.moto  # reads AWS itself
def test_concurrent_publishes_all_reach_the_index(http, issue, app_client, aws, wharf):
    """20 releases of one project published from 20 threads: the index matches the table."""
    client = UploadClient(http, issue("upload", ("acme-*",)))
    tokens = []
    for minor in range(20):
        version = f"1.{minor}"
        session = client.create(version=version)
        data = wheel_bytes(version=version, metadata=metadata_text(version=version))
        client.upload(session, f"acme_tools-{version}-py3-none-any.whl", data)
        deliver_events(app_client, aws)
        assert publish(client, session).status == 202
        tokens.append(session.json["session-token"])
    # Drop the queued publish requests: the threads below play the parallel Lambdas.
    aws.clients.sqs.purge_queue(QueueUrl=aws.resources.queue_url)
    barrier = threading.Barrier(len(tokens))
    errors: list[BaseException] = []

    def run(token: str) -> None:
        barrier.wait()
        try:
            wharf.publisher.run(token)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    doc = json.loads(page(http, basic(issue("read"))).body)
    table_files = {e.filename for e in wharf.stores.catalog.committed_files("acme-tools")}
    assert {f["filename"] for f in doc["files"]} == table_files
    assert len(table_files) == 20
    assert doc["meta"]["_last-serial"] == wharf.stores.catalog.project("acme-tools").serial
