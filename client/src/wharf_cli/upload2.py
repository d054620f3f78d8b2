"""Upload 2.0 (PEP 694) calls: sessions, both mechanisms, parallel resumable parts.

This module speaks the protocol; ``release.py`` decides what to do with a release.
"""

from __future__ import annotations

import glob
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from . import transport
from .client import ClientError, error_from, json_object
from .dists import Dist
from .progress import Reporter
from .workers import Stop, run_all

V2 = "application/vnd.pypi.upload.v2+json"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
META = {"api-version": "2.0"}
MULTIPART = "vnd-wharf-s3multipart-presigned-v1"
POST_BYTES = "http-post-bytes"
INLINE_LIMIT = 4 * 1024 * 1024
URL_RENEWALS = 3  # fresh presigned URLs asked for one part before giving up
EDITABLE = ("open", "error")
FILE_WORKERS = 4  # files sent at once
REGISTER_WORKERS = 8  # file upload sessions created at once


class NotUpload2(Exception):
    """The server does not speak Upload 2.0 (PEP 694's legacy fallback applies)."""


class Upload2:
    def __init__(
        self,
        base: str,
        auth: tuple[str, str],
        reporter: Reporter,
        stop: Stop | None = None,
        *,
        concurrency: int = 8,
        part_size: int | None = None,
        timeout: float = 60,
    ) -> None:
        self.base = base
        # Every thread may hold a connection at once: files times parts.
        pool = FILE_WORKERS * max(1, concurrency) + REGISTER_WORKERS
        self._session = transport.session(auth, every_method=True, pool=pool)
        self._s3 = transport.session(None, every_method=True, pool=pool)
        self.reporter = reporter
        self.stop = stop or Stop()
        self._concurrency = max(1, concurrency)
        self._part_size = part_size
        self._timeout = timeout

    # --- HTTP -------------------------------------------------------------------------------

    def call(self, method: str, url: str, body: Any = None, **kwargs: Any) -> requests.Response:
        """One request (network errors and 5xx retried by the session); the last answer, or
        ``ClientError`` when the server could not be reached."""
        headers = kwargs.pop("headers", {})
        if body is not None:
            headers["Content-Type"] = V2
            kwargs["json"] = body
        headers.setdefault("Accept", V2)
        self.stop.check()
        try:
            return self._session.request(
                method, url, headers=headers, timeout=self._timeout, **kwargs
            )
        except (requests.ConnectionError, requests.Timeout):
            raise ClientError(f"cannot reach {self.base}") from None
        except requests.RequestException as error:
            raise ClientError(f"request to {self.base} failed: {type(error).__name__}") from None

    @staticmethod
    def ok(response: requests.Response, *expected: int, context: str = "") -> dict[str, Any]:
        if response.status_code not in expected:
            raise error_from(response, context)
        return json_object(response) if response.content else {}

    # --- what is published ----------------------------------------------------------------

    def published_files(self, project: str) -> dict[str, str] | None:
        """Filename → sha256 of the project's published files (PEP 691 JSON), ``{}`` for a
        project with none, ``None`` when the index cannot tell (no read access, other errors).
        """
        url = f"{self.base}/simple/{quote(project, safe='')}/"
        reply = self.call("GET", url, headers={"Accept": SIMPLE_JSON})
        if reply.status_code == 404:
            return {}
        if reply.status_code != 200:
            return None
        try:
            files = reply.json().get("files", [])
            return {f["filename"]: f.get("hashes", {}).get("sha256", "") for f in files}
        except (ValueError, AttributeError, KeyError, TypeError):
            return None

    # --- sessions ---------------------------------------------------------------------------

    def open_session(self, project: str, version: str) -> tuple[dict[str, Any], bool]:
        """Create the release's session, or read the non-terminal one that exists (in any
        status). Returns the session body and whether it was created by this call."""
        reply = self.call(
            "POST", f"{self.base}/upload/", {"meta": META, "name": project, "version": version}
        )
        if reply.status_code in (404, 405, 406, 415):
            raise NotUpload2(f"{self.base}/upload/ answered {reply.status_code}")
        if reply.status_code == 409 and reply.headers.get("Location"):
            return self.session_status(reply.headers["Location"]), False
        return self.ok(reply, 201, context=f"{project} {version}"), True

    def session_status(self, url: str) -> dict[str, Any]:
        return self.ok(self.call("GET", url), 200)

    def list_sessions(self) -> dict[str, Any]:
        reply = self.call("GET", f"{self.base}/upload/")
        if reply.status_code == 405:
            raise ClientError(
                f"{self.base} does not list sessions (GET /upload/ is a wharf extension this "
                "server lacks); give the session's ID instead",
                status=405,
            )
        return self.ok(reply, 200)

    def request_publish(self, session: dict[str, Any]) -> requests.Response:
        return self.call("POST", session["links"]["publish"], {"meta": META})

    def cancel(self, session: dict[str, Any]) -> dict[str, Any]:
        return self.ok(self.call("DELETE", session["links"]["session"]), 200)

    def wait(self, url: str, done: set[str], timeout: float) -> dict[str, Any]:
        """Poll ``url`` until its status is in ``done`` (or ``timeout`` seconds pass)."""
        deadline = time.monotonic() + timeout
        backoff = Backoff()
        while True:
            reply = self.call("GET", url)
            status = self.ok(reply, 200)
            if status["status"] in done or time.monotonic() > deadline:
                return status
            self.stop.sleep(backoff.delay(reply))

    # --- files ----------------------------------------------------------------------------------

    def file_status(self, link: str) -> dict[str, Any]:
        return self.ok(self.call("GET", link), 200)

    def delete_file(self, link: str) -> None:
        """Delete a file upload session; one that is gone or canceled already is fine."""
        reply = self.call("DELETE", link)
        if reply.status_code in (204, 404):
            return
        if reply.status_code == 409 and self.file_status(link)["status"] == "canceled":
            return
        raise error_from(reply)

    def create_file(self, session: dict[str, Any], dist: Dist) -> requests.Response:
        mechanism = self._mechanism(session, dist)
        meta: dict[str, Any] = dict(META)
        if mechanism == MULTIPART and self._part_size:
            meta["_wharf"] = {"part-size": self._part_size}
        return self.call(
            "POST",
            session["links"]["upload"],
            {
                "meta": meta,
                "filename": dist.filename,
                "size": dist.size,
                "hashes": {"sha256": dist.sha256},
                "mechanism": mechanism,
            },
        )

    def transfer(self, file: dict[str, Any], dist: Dist) -> None:
        """Send a pending file's bytes (only the parts S3 lacks) and complete it."""
        self.reporter.event(
            "file-start",
            file=dist.filename,
            size=dist.size,
            mechanism=file["mechanism"]["identifier"],
        )
        link = file["links"]["file-upload-session"]
        try:
            if file["mechanism"]["identifier"] == MULTIPART:
                self._send_parts(file, dist)
            else:
                self._send_bytes(file, dist)
            self._send_attestations(file, dist)
            reply = self.call("POST", file["links"]["complete"], {"meta": META})
            if reply.status_code not in (201, 202):
                raise error_from(reply, dist.filename)
        except ClientError:
            # Two jobs sending the identical file into one session: whichever completes
            # it first wins, and the other's refused request is no failure.
            if self.file_status(link)["status"] not in ("processing", "completed"):
                raise
        self.reporter.event("file-sent", file=dist.filename)

    def _send_attestations(self, file: dict[str, Any], dist: Dist) -> None:
        """PEP 740 attestations lying beside the dist (``<dist>.<type>.attestation``, as
        ``python -m pypi_attestations sign`` writes them), sent as ``uv publish`` sends them:
        by themselves, before the file is completed."""
        found = sorted(dist.path.parent.glob(glob.escape(dist.filename) + ".*.attestation"))
        if not found:
            return
        url = file["mechanism"].get("attestations_url")
        if not url:
            raise ClientError(f"{dist.filename}: this index takes no attestations")
        try:
            body = [json.loads(path.read_text(encoding="utf-8")) for path in found]
        except (OSError, ValueError) as error:
            problem = f"{dist.filename}: an attestation file is not JSON ({error})"
            raise ClientError(problem) from None
        reply = self.call(
            "POST", url, data=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        self.ok(reply, 200, context=f"{dist.filename}: attestations")
        self.reporter.event("attestations-sent", file=dist.filename, count=len(found))

    def _mechanism(self, session: dict[str, Any], dist: Dist) -> str:
        offered = session.get("mechanisms", [])
        if dist.size > INLINE_LIMIT and MULTIPART in offered:
            return MULTIPART
        if POST_BYTES in offered or not offered:
            return POST_BYTES
        return str(offered[0])

    def _send_bytes(self, file: dict[str, Any], dist: Dist) -> None:
        data = dist.path.read_bytes()
        reply = self.call(
            "POST",
            file["mechanism"]["file_url"],
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        self.ok(reply, 200, 201, 204)
        self.reporter.event("bytes", file=dist.filename, bytes=len(data), part=1)

    def urls(self, parts_url: str, numbers: list[int]) -> tuple[dict[int, str], set[int]]:
        """Presigned URLs for ``numbers``, and the parts S3 already holds."""
        urls: dict[int, str] = {}
        held: set[int] = set()
        for start in range(0, max(len(numbers), 1), 1000):
            batch = numbers[start : start + 1000]
            body = self.ok(self.call("POST", parts_url, {"meta": META, "parts": batch}), 200)
            urls.update({int(n): url for n, url in body["urls"].items()})
            held = {p["number"] for p in body["parts"]}
        return urls, held

    def _send_parts(self, file: dict[str, Any], dist: Dist) -> None:
        mechanism = file["mechanism"]
        part_size, count = mechanism["part_size"], mechanism["part_count"]
        _, held = self.urls(mechanism["parts_url"], [])
        missing = [n for n in range(1, count + 1) if n not in held]
        if held:
            self.reporter.event(
                "resume", file=dist.filename, held_parts=len(held), missing_parts=len(missing)
            )
            self.reporter.event(
                "bytes",
                file=dist.filename,
                bytes=min(len(held) * part_size, dist.size),
                part=0,
                resumed=True,
            )
        if not missing:
            return
        uploader = PartUploader(self, self._s3, mechanism["parts_url"], dist, part_size)
        urls, _ = self.urls(mechanism["parts_url"], missing)
        run_all(
            lambda n: uploader.put(n, urls[n]),
            missing,
            workers=self._concurrency,
            stop=self.stop,
        )


def poll_interval(reply: requests.Response | None) -> float:
    """Half the server's ``Retry-After``, at most half a second: verdicts come fast."""
    try:
        after = float(reply.headers.get("Retry-After", "1")) if reply is not None else 1.0
    except ValueError:
        after = 1.0
    return max(min(after, 1.0), 0.1) / 2


class Backoff:
    """Waits between polls of one thing: a tenth of the time waited so far, from 50 ms up
    to ``poll_interval``. A verdict or a publish takes a few tenths of a second for a small
    file and seconds for a large one, and a poll that just misses it costs the whole next
    wait: a tenth of the wait so far keeps that cost within a tenth, at any size. (Doubling
    waits made a 1.4 s validation visible at 1.5 s, a 0.25 s publish at the 0.35 s poll.)"""

    FIRST = 0.05
    SHARE = 0.1

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._since = clock()

    def delay(self, reply: requests.Response | None = None) -> float:
        waited = self._clock() - self._since
        return min(max(self.FIRST, self.SHARE * waited), poll_interval(reply))

    def reset(self) -> None:
        """Something changed: the next step may come soon too."""
        self._since = self._clock()


class PartUploader:
    """PUTs parts to presigned URLs, and asks the server for a fresh URL when S3 refuses a
    stale one (403): that is a new request, not a retry of the same one, so it is done here;
    network errors and 5xx are retried by the session."""

    def __init__(
        self,
        client: Upload2,
        http: requests.Session,
        parts_url: str,
        dist: Dist,
        part_size: int,
        read: Callable[[int, int], bytes] | None = None,
    ) -> None:
        self._client = client
        self._http = http
        self._parts_url = parts_url
        self._dist = dist
        self._part_size = part_size
        self._read = read or self._read_file

    def _read_file(self, offset: int, length: int) -> bytes:
        with self._dist.path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(length)

    def put(self, number: int, url: str) -> None:
        stop, reporter = self._client.stop, self._client.reporter
        data = self._read((number - 1) * self._part_size, self._part_size)
        for renewal in range(URL_RENEWALS + 1):
            stop.check()
            try:
                response = self._http.put(url, data=data, timeout=300)
            except requests.RequestException as error:
                raise ClientError(
                    f"part {number}: the storage endpoint is unreachable ({type(error).__name__})"
                ) from None
            if response.status_code in (200, 204):
                reporter.event("bytes", file=self._dist.filename, bytes=len(data), part=number)
                return
            if response.status_code != 403:
                raise ClientError(f"part {number}: storage answered HTTP {response.status_code}")
            if renewal == URL_RENEWALS:
                break
            # A stale or refused presigned URL: ask the server for a fresh one.
            reporter.event("url-refreshed", file=self._dist.filename, part=number)
            url = self._client.urls(self._parts_url, [number])[0][number]
        raise ClientError(
            f"part {number}: storage refused {URL_RENEWALS + 1} presigned URLs (HTTP 403)"
        )
