"""The ObjectStore and StagingStorage contracts, on the fake and on S3 (moto)."""

from __future__ import annotations

from chalicelib.domain.layout import staged_key

KEY = staged_key("tok", "fid", "acme_tools-1.0-py3-none-any.whl")


def test_objects_round_trip_and_copy(backend):
    objects = backend.stores.objects
    assert objects.get("simple/x/index.html") is None
    objects.put("files/a", b"abc", content_type="text/plain", metadata={"k": "v"})
    stored = objects.get("files/a")
    assert (stored.body, stored.metadata) == (b"abc", {"k": "v"}) and stored.etag
    objects.copy("files/a", "files/b")
    assert objects.get("files/b").body == b"abc"
    assert "files/b" in objects.presigned_get("files/b", expires=60, filename="b")


def test_a_published_files_url_says_its_bytes_never_change(aws):
    """S3 answers a GET of an ``immutable`` URL with a Cache-Control that lets pip's and
    uv's HTTP caches keep the file (the URL is a credential: private caches only)."""
    import requests

    from chalicelib.adapters.s3_objects import S3ObjectStore

    objects = S3ObjectStore(aws.clients.s3, aws.resources.bucket)
    objects.put("files/u/f/a.whl", b"wheel", content_type="application/zip", metadata={})
    plain = requests.get(objects.presigned_get("files/u/f/a.whl", expires=60), timeout=10)
    kept = requests.get(
        objects.presigned_get("files/u/f/a.whl", expires=60, filename="a.whl", immutable=True),
        timeout=10,
    )
    assert (plain.status_code, kept.status_code) == (200, 200)
    assert kept.content == b"wheel"
    assert kept.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert "Cache-Control" not in plain.headers


def test_an_older_render_never_replaces_a_newer(backend):
    objects = backend.stores.objects
    assert objects.put_if_newer("simple/p/index.html", b"2", content_type="text/html", serial=2)
    assert not objects.put_if_newer("simple/p/index.html", b"1", content_type="text/html", serial=1)
    assert not objects.put_if_newer("simple/p/index.html", b"x", content_type="text/html", serial=2)
    assert objects.get("simple/p/index.html").body == b"2"
    assert objects.put_if_newer("simple/p/index.html", b"3", content_type="text/html", serial=3)


def test_a_multipart_upload_appears_only_when_finished(backend):
    staging = backend.stores.staging
    upload_id = staging.start_upload(KEY)
    staging.put_part(KEY, upload_id, 1, b"hello")
    staging.put_part(KEY, upload_id, 1, b"hello!")  # replaces the part
    assert [(n, size) for n, size, _ in staging.parts(KEY, upload_id)] == [(1, 6)]
    assert staging.object_info(KEY) is None
    staging.finish_upload(KEY, upload_id)
    size, etag = staging.object_info(KEY)
    assert size == 6
    with staging.source(KEY, size, etag).stream() as stream:
        assert stream.read() == b"hello!"
    assert staging.open(KEY).read() == b"hello!"


def test_abort_and_delete_prefix_leave_nothing(backend):
    staging = backend.stores.staging
    upload_id = staging.start_upload(KEY)
    staging.abort_upload(KEY, upload_id)
    staging.abort_upload(KEY, upload_id)  # no error the second time
    staging.put_bytes(KEY, b"x", "application/octet-stream")
    staging.put_bytes("staging/tok/other", b"y", "application/octet-stream")
    staging.delete_prefix("staging/tok/fid/")
    assert staging.object_info(KEY) is None
    assert staging.object_info("staging/tok/other") is not None
