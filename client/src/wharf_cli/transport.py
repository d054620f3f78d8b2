"""requests sessions that retry network errors and 5xx answers with backoff (urllib3 ``Retry``).

Retries happen inside urllib3, below every call the client makes; what is left to the
callers is what a retry of the same request cannot fix (a refused presigned URL needs a
new URL, see ``upload2.PartUploader``).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import requests
from requests.adapters import HTTPAdapter
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

try:
    VERSION = version("wharf-client")
except PackageNotFoundError:  # run from a source tree that was never installed
    VERSION = "0+unknown"
USER_AGENT = f"wharf-cli/{VERSION}"

ATTEMPTS = 5
# Backoff between tries: 0, 0.4, 0.8, 1.6 s (urllib3 adds no wait before the first retry).
BACKOFF = 0.2
# The longest wait between two tries, also for a server's Retry-After.
MAX_WAIT = 5.0
RETRIED_STATUSES = frozenset({429, *range(500, 600)})


class _Retry(Retry):
    """urllib3's Retry, with a server's Retry-After capped: a CI job should not sleep an hour
    because a proxy said so (urllib3 caps only its own backoff)."""

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        after = super().get_retry_after(response)
        return None if after is None else min(after, MAX_WAIT)


def retries(*, every_method: bool) -> Retry:
    """The retry policy. ``every_method`` retries POSTs too: the Upload 2.0 calls are safe to
    repeat (a second create answers 409 with the session's Location, a second complete or
    publish finds the work under way); the admin API's POST creates a token, so it is not."""
    return _Retry(
        total=ATTEMPTS - 1,
        backoff_factor=BACKOFF,
        backoff_max=MAX_WAIT,
        status_forcelist=RETRIED_STATUSES,
        allowed_methods=None if every_method else Retry.DEFAULT_ALLOWED_METHODS,
        raise_on_status=False,  # the last answer goes to the caller, which explains it
    )


def session(
    auth: tuple[str, str] | None, *, every_method: bool, pool: int = 10
) -> requests.Session:
    """A session with the retry policy on both schemes; ``auth`` is ``None`` for presigned
    URLs, which carry their own authority. ``pool`` is the number of connections kept per
    host: as many as threads that may talk to it at once (urllib3 warns on stderr and drops
    the rest otherwise)."""
    http = requests.Session()
    http.auth = auth
    http.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(max_retries=retries(every_method=every_method), pool_maxsize=pool)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    return http
