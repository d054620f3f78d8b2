"""Uploading through PEP 694 (Upload 2.0): sessions, both mechanisms, parallel resumable parts."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import requests

from .client import ClientError, _reason
from .dists import Dist
from .progress import Reporter

V2 = "application/vnd.pypi.upload.v2+json"
META = {"api-version": "2.0"}
MULTIPART = "vnd-wharf-s3multipart-presigned-v1"
POST_BYTES = "http-post-bytes"
INLINE_LIMIT = 4 * 1024 * 1024
RETRIES = 5


class NotUpload2(Exception):
    """The server does not speak Upload 2.0 (PEP 694's legacy fallback applies)."""


def _backoff(attempt: int) -> None:
    time.sleep(min(0.2 * 2**attempt, 5))


class Upload2:
    def __init__(
        self,
        base: str,
        auth: tuple[str, str],
        reporter: Reporter,
        *,
        concurrency: int = 8,
        part_size: int | None = None,
        timeout: float = 60,
    ) -> None:
        self._base = base
        self._session = requests.Session()
        self._session.auth = auth
        self._session.headers["User-Agent"] = "wharf-cli/0.1"
        self._s3 = requests.Session()  # presigned URLs carry their own authority
        self._reporter = reporter
        self._concurrency = max(1, concurrency)
        self._part_size = part_size
        self._timeout = timeout

    # --- HTTP -------------------------------------------------------------------------------

    def call(self, method: str, url: str, body: Any = None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if body is not None:
            headers["Content-Type"] = V2
            kwargs["json"] = body
        headers.setdefault("Accept", V2)
        for attempt in range(RETRIES):
            try:
                response = self._session.request(
                    method, url, headers=headers, timeout=self._timeout, **kwargs
                )
            except (requests.ConnectionError, requests.Timeout):
                if attempt == RETRIES - 1:
                    raise ClientError(f"cannot reach {self._base}") from None
                _backoff(attempt)
                continue
            except requests.RequestException as error:
                raise ClientError(
                    f"request to {self._base} failed: {type(error).__name__}"
                ) from None
            if response.status_code >= 500 and attempt < RETRIES - 1:
                _backoff(attempt)
                continue
            return response
        raise AssertionError("unreachable")

    def _ok(self, response: requests.Response, *expected: int) -> dict[str, Any]:
        if response.status_code not in expected:
            raise ClientError(_reason(response))
        return response.json() if response.content else {}

    # --- sessions ---------------------------------------------------------------------------

    def open_session(self, project: str, version: str) -> dict[str, Any]:
        """Create the release's session, or join the open one (resume)."""
        reply = self.call(
            "POST", f"{self._base}/upload/", {"meta": META, "name": project, "version": version}
        )
        if reply.status_code in (404, 405, 406, 415):
            raise NotUpload2(f"{self._base}/upload/ answered {reply.status_code}")
        if reply.status_code == 409 and reply.headers.get("Location"):
            existing = self._ok(self.call("GET", reply.headers["Location"]), 200)
            if existing["status"] in ("open", "error"):
                self._reporter.event(
                    "session",
                    message=f"resuming the open session for {project} {version}",
                    resumed=True,
                )
                return existing
            raise ClientError(
                f"{project} {version} is being published already ({existing['status']})"
            )
        session = self._ok(reply, 201)
        self._reporter.event(
            "session", message=f"opened a session for {project} {version}", resumed=False
        )
        return session

    def session_status(self, url: str) -> dict[str, Any]:
        return self._ok(self.call("GET", url), 200)

    def publish(self, session: dict[str, Any], *, wait: float = 300) -> dict[str, Any]:
        self._ok(self.call("POST", session["links"]["publish"], {"meta": META}), 201, 202)
        return self.wait(session["links"]["session"], {"published", "error"}, wait)

    def cancel(self, session: dict[str, Any]) -> dict[str, Any]:
        return self._ok(self.call("DELETE", session["links"]["session"]), 200)

    def wait(self, url: str, done: set[str], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            reply = self.call("GET", url)
            status = self._ok(reply, 200)
            if status["status"] in done or time.monotonic() > deadline:
                return status
            time.sleep(min(float(reply.headers.get("Retry-After", "1")), 1) / 2)

    # --- files ----------------------------------------------------------------------------------

    def upload_file(self, session: dict[str, Any], dist: Dist) -> dict[str, Any]:
        """Upload one file (or resume it) and wait for the validator's verdict."""
        existing = session.get("files", {}).get(dist.filename)
        file = None
        if existing:
            current = self._ok(self.call("GET", existing["link"]), 200)
            same = (
                current.get("size") == dist.size
                and current.get("hashes", {}).get("sha256") == dist.sha256
            )
            if current["status"] == "completed" and same:
                self._reporter.event("file-skipped", file=dist.filename, status="already uploaded")
                return current
            if (current["status"] == "pending" and same) or current["status"] == "processing":
                file = current
            else:
                self._ok(self.call("DELETE", existing["link"]), 204)
        if file is None:
            mechanism = self._mechanism(session, dist)
            meta: dict[str, Any] = dict(META)
            if mechanism == MULTIPART and self._part_size:
                meta["_wharf"] = {"part-size": self._part_size}
            file = self._ok(
                self.call(
                    "POST",
                    session["links"]["upload"],
                    {
                        "meta": meta,
                        "filename": dist.filename,
                        "size": dist.size,
                        "hashes": {"sha256": dist.sha256},
                        "mechanism": mechanism,
                    },
                ),
                202,
            )
        if file["status"] == "pending":
            self._reporter.event(
                "file-start",
                file=dist.filename,
                size=dist.size,
                mechanism=file["mechanism"]["identifier"],
            )
            if file["mechanism"]["identifier"] == MULTIPART:
                self._send_parts(file, dist)
            else:
                self._send_bytes(file, dist)
            self._ok(self.call("POST", file["links"]["complete"], {"meta": META}), 201, 202)
        verdict = self.wait(file["links"]["file-upload-session"], {"completed", "error"}, 600)
        self._reporter.event(
            "file-done",
            file=dist.filename,
            status=verdict["status"],
            notices=verdict.get("notices", []),
        )
        return verdict

    def _mechanism(self, session: dict[str, Any], dist: Dist) -> str:
        offered = session.get("mechanisms", [])
        if dist.size > INLINE_LIMIT and MULTIPART in offered:
            return MULTIPART
        if POST_BYTES in offered or not offered:
            return POST_BYTES
        return offered[0]

    def _send_bytes(self, file: dict[str, Any], dist: Dist) -> None:
        data = dist.path.read_bytes()
        reply = self.call(
            "POST",
            file["mechanism"]["file_url"],
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        self._ok(reply, 200, 201, 204)
        self._reporter.event("bytes", file=dist.filename, bytes=len(data), part=1)

    def _urls(self, parts_url: str, numbers: list[int]) -> tuple[dict[int, str], set[int]]:
        """Presigned URLs for ``numbers``, and the parts S3 already holds."""
        urls: dict[int, str] = {}
        held: set[int] = set()
        for start in range(0, max(len(numbers), 1), 1000):
            batch = numbers[start : start + 1000]
            body = self._ok(self.call("POST", parts_url, {"meta": META, "parts": batch}), 200)
            urls.update({int(n): url for n, url in body["urls"].items()})
            held = {p["number"] for p in body["parts"]}
        return urls, held

    def _send_parts(self, file: dict[str, Any], dist: Dist) -> None:
        mechanism = file["mechanism"]
        part_size, count = mechanism["part_size"], mechanism["part_count"]
        _, held = self._urls(mechanism["parts_url"], [])
        missing = [n for n in range(1, count + 1) if n not in held]
        if held:
            self._reporter.event(
                "resume", file=dist.filename, held_parts=len(held), missing_parts=len(missing)
            )
            self._reporter.event(
                "bytes",
                file=dist.filename,
                bytes=min(len(held) * part_size, dist.size),
                part=0,
                resumed=True,
            )
        uploader = PartUploader(
            self, self._s3, mechanism["parts_url"], dist, part_size, self._reporter
        )
        urls, _ = self._urls(mechanism["parts_url"], missing) if missing else ({}, held)
        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            futures = [pool.submit(uploader.put, n, urls[n]) for n in missing]
            for future in as_completed(futures):
                future.result()


class PartUploader:
    """PUTs parts to presigned URLs; retries network errors and 5xx with backoff, and asks
    for a fresh URL when S3 refuses a stale one."""

    def __init__(
        self,
        client: Upload2,
        http: requests.Session,
        parts_url: str,
        dist: Dist,
        part_size: int,
        reporter: Reporter,
        read: Callable[[int, int], bytes] | None = None,
    ) -> None:
        self._client = client
        self._http = http
        self._parts_url = parts_url
        self._dist = dist
        self._part_size = part_size
        self._reporter = reporter
        self._read = read or self._read_file

    def _read_file(self, offset: int, length: int) -> bytes:
        with self._dist.path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(length)

    def put(self, number: int, url: str) -> None:
        data = self._read((number - 1) * self._part_size, self._part_size)
        for attempt in range(RETRIES):
            try:
                response = self._http.put(url, data=data, timeout=300)
            except requests.ConnectionError:
                if attempt == RETRIES - 1:
                    raise ClientError(
                        f"part {number}: the storage endpoint is unreachable"
                    ) from None
                _backoff(attempt)
                continue
            if response.status_code in (200, 204):
                self._reporter.event(
                    "bytes", file=self._dist.filename, bytes=len(data), part=number
                )
                return
            if response.status_code == 403:
                # A stale or refused presigned URL: ask the server for a fresh one.
                self._reporter.event("url-refreshed", file=self._dist.filename, part=number)
                url = self._client._urls(self._parts_url, [number])[0][number]
                continue
            if response.status_code >= 500 and attempt < RETRIES - 1:
                _backoff(attempt)
                continue
            raise ClientError(f"part {number}: storage answered HTTP {response.status_code}")
        raise ClientError(f"part {number}: gave up after {RETRIES} tries")
