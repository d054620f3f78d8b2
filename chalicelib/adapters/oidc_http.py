"""Fetching an OIDC issuer's discovery document and JWKS: https only, no redirects, a
short timeout and a size cap, so a slow or hostile issuer cannot hold a request or fill
memory. The standard library is enough for two GETs; the Lambda ships no HTTP client."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

# API Gateway gives a request 29 s in all; the discovery document and the JWKS are two
# fetches, each bounded well inside that: every socket operation by the timeout, and the
# whole body by the deadline (a server dripping a byte at a time meets no socket timeout).
TIMEOUT_SECONDS = 5
DEADLINE_SECONDS = 8
MAX_BYTES = 256 * 1024
CHUNK = 16 * 1024


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        # A redirect could lead anywhere; the issuer's own URLs are the only ones we fetch.
        return None


_opener = urllib.request.build_opener(_NoRedirects)


class HttpIssuerDocuments:
    def __init__(
        self,
        timeout: float = TIMEOUT_SECONDS,
        max_bytes: int = MAX_BYTES,
        deadline: float = DEADLINE_SECONDS,
    ) -> None:
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._deadline = deadline

    def get_json(self, url: str) -> Any:
        if urlsplit(url).scheme != "https":
            raise OSError(f"refusing to fetch a non-https URL: {url}")
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        # A duration, not a time of day: monotonic is not the wall clock the injected one hides.
        give_up = time.monotonic() + self._deadline
        body = bytearray()
        try:
            with _opener.open(request, timeout=self._timeout) as response:
                if response.status != 200:
                    raise OSError(f"{url} answered {response.status}")
                while chunk := response.read1(CHUNK):
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise OSError(f"{url} answered more than {self._max_bytes} bytes")
                    if time.monotonic() > give_up:
                        raise OSError(f"{url} took more than {self._deadline} s to answer")
        except ValueError as error:  # a malformed URL
            raise OSError(str(error)) from error
        try:
            return json.loads(body)
        except ValueError as error:
            raise OSError(f"{url} did not answer JSON") from error
