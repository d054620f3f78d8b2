"""The client's retries (urllib3 Retry on its sessions) against a scripted local HTTP server:
what is retried, what is not, and the presigned-URL renewal that is no retry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from urllib3.response import HTTPResponse

from tests.scripted_http import DROP, Script, scripted_server
from wharf_cli import transport
from wharf_cli.client import ClientError, WharfClient
from wharf_cli.dists import Dist
from wharf_cli.progress import Reporter
from wharf_cli.upload2 import PartUploader, Upload2


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    with scripted_server() as running:
        yield running


class Recorder(Reporter):
    def __init__(self) -> None:
        super().__init__("json")
        self.events: list[tuple[str, dict]] = []

    def event(self, kind: str, **fields) -> None:
        self.events.append((kind, fields))


def test_the_upload_api_retries_drops_and_5xx_even_for_a_post(server):
    url, script = server
    created = json.dumps({"status": "open"}).encode()
    script.answers[("POST", "/upload/")] = [(DROP, {}, b""), (503, {}, b""), (201, {}, created)]
    api = Upload2(url, ("__token__", "t"), Recorder())
    reply = api.call("POST", f"{url}/upload/", {"name": "acme"})
    assert (reply.status_code, reply.json()) == (201, {"status": "open"})
    bodies = [json.loads(body) for method, path, body in script.seen]
    assert bodies == [{"name": "acme"}] * 3  # the same request, sent three times


def test_the_admin_api_never_repeats_a_post(server):
    url, script = server
    script.answers[("POST", "/admin/tokens")] = [(503, {}, b"busy")]
    script.answers[("GET", "/admin/tokens")] = [(502, {}, b""), (200, {}, b'{"tokens": []}')]
    admin = WharfClient(url, ("__token__", "t"), "token create")
    with pytest.raises(ClientError, match="HTTP 503: busy") as raised:
        admin.create_token(role="read", projects=[], expires_days=None, description="")
    assert raised.value.status == 503
    assert admin.list_tokens() == []  # a read is retried
    assert [(m, p) for m, p, _ in script.seen] == [
        ("POST", "/admin/tokens"),
        ("GET", "/admin/tokens"),
        ("GET", "/admin/tokens"),
    ]


def test_a_refused_presigned_url_is_renewed_and_a_5xx_retried(server, tmp_path):
    url, script = server
    fresh = json.dumps({"urls": {"1": f"{url}/s3/fresh"}, "parts": []}).encode()
    script.answers[("PUT", "/s3/stale")] = [(403, {}, b"<Error>AccessDenied</Error>")]
    script.answers[("POST", "/parts")] = [(200, {}, fresh)]
    script.answers[("PUT", "/s3/fresh")] = [(500, {}, b""), (200, {}, b"")]
    reporter = Recorder()
    api = Upload2(url, ("__token__", "t"), reporter)
    dist = Dist(Path(tmp_path / "a.whl"), "a", "1.0", 5, "")
    uploader = PartUploader(api, api._s3, f"{url}/parts", dist, 5, read=lambda o, n: b"12345")
    uploader.put(1, f"{url}/s3/stale")
    assert [(m, p) for m, p, _ in script.seen] == [
        ("PUT", "/s3/stale"),
        ("POST", "/parts"),  # a new URL: the stale one would be refused again
        ("PUT", "/s3/fresh"),
        ("PUT", "/s3/fresh"),  # S3's 500, retried by the session
    ]
    assert [kind for kind, _ in reporter.events] == ["url-refreshed", "bytes"]


def test_a_part_refused_every_time_is_one_error(server, tmp_path):
    url, script = server
    again = json.dumps({"urls": {"1": f"{url}/s3/p"}, "parts": []}).encode()
    script.answers[("PUT", "/s3/p")] = [(403, {}, b"")] * 4
    script.answers[("POST", "/parts")] = [(200, {}, again)] * 3
    api = Upload2(url, ("__token__", "t"), Recorder())
    dist = Dist(Path(tmp_path / "a.whl"), "a", "1.0", 5, "")
    uploader = PartUploader(api, api._s3, f"{url}/parts", dist, 5, read=lambda o, n: b"12345")
    with pytest.raises(ClientError, match=r"part 1: storage refused 4 presigned URLs \(HTTP 403\)"):
        uploader.put(1, f"{url}/s3/p")


def test_a_servers_retry_after_is_capped():
    policy = transport.retries(every_method=True)
    slow_down = HTTPResponse(body=b"", headers={"Retry-After": "3600"}, status=503)
    assert policy.get_retry_after(slow_down) == transport.MAX_WAIT
    soon = HTTPResponse(body=b"", headers={"Retry-After": "2"}, status=429)
    assert policy.get_retry_after(soon) == 2


def test_polls_wait_a_tenth_of_the_time_so_far_from_50_ms_to_half_the_retry_after():
    from requests import Response

    from wharf_cli.upload2 import Backoff

    reply = Response()
    reply.headers["Retry-After"] = "1"
    now = [100.0]
    backoff = Backoff(clock=lambda: now[0])

    def after(seconds: float) -> float:
        now[0] = 100.0 + seconds
        return round(backoff.delay(reply), 3)

    # A poll that just misses a verdict costs at most a tenth of the wait so far.
    assert [after(t) for t in (0, 0.3, 0.5, 1.4, 3.0, 5.0, 60.0)] == [
        0.05,
        0.05,
        0.05,
        0.14,
        0.3,
        0.5,
        0.5,
    ]
    backoff.reset()  # something changed: quick polls again
    assert after(60.2) == 0.05
    reply.headers["Retry-After"] = "0.2"
    assert after(70) == 0.1  # half the server's Retry-After, whatever the wait
    assert Backoff().delay() == 0.05
