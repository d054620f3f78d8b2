"""Upload mechanisms (PEP 694): how a file's bytes reach the staging area.

A mechanism implements ``Mechanism`` and is listed in ``REGISTERED``, in the order of
preference the server announces. Adding one touches its own module, the line that
registers it here, and its docs page (docs/developing.md says what it must do): the
routes under a file's URL, the response's ``mechanism`` map and the checks at
``complete`` all come from the mechanism.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ...domain.errors import UnprocessableError

if TYPE_CHECKING:
    from ...domain.ports import Clock, SessionRepository, StagingStorage
    from ...domain.sessions import FileRecord


@dataclass(frozen=True)
class TransferPolicy:
    inline_limit: int
    part_url_seconds: int
    default_part_size: int


@dataclass(frozen=True)
class Transfer:
    """What a mechanism may use: the staging area, the file records' progress, the clock."""

    staging: StagingStorage
    store: SessionRepository
    clock: Clock
    policy: TransferPolicy


@dataclass(frozen=True)
class TransferRequest:
    """One request to a mechanism's endpoint, as the API parsed it."""

    method: str  # HEAD arrives as GET
    content_type: str
    body: bytes
    # Parses the body as an Upload 2.0 JSON request (media type, size, api-version).
    json: Callable[[], Mapping[str, Any]] = field(default=lambda: {})


@dataclass(frozen=True)
class TransferReply:
    status: int
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Endpoint:
    """A path segment under the file's URL that the mechanism answers."""

    methods: tuple[str, ...]
    json_reply: bool  # answers in the Upload 2.0 media type (so Accept is checked)


class Mechanism(Protocol):
    identifier: str
    # Whether S3 verifies each part's SHA-256 (parts PUT by clients to presigned URLs
    # carry no checksum header, so for them it cannot).
    checksummed_parts: bool

    @property
    def endpoints(self) -> Mapping[str, Endpoint]:
        """Its endpoints under the file's URL, by path segment."""

    def part_size(self, size: int, hint: int | None, policy: TransferPolicy) -> int | None:
        """The part size to record on a new file (``None`` when the mechanism has none)."""

    def describe(self, record: FileRecord, file_url: str) -> dict[str, Any]:
        """The ``mechanism`` map of the file's response, ``identifier`` included."""

    def completion_problems(
        self, record: FileRecord, parts: list[tuple[int, int, str]]
    ) -> list[str]:
        """What keeps the parts held from being the declared file (besides the total size)."""

    def handle(
        self, endpoint: str, transfer: Transfer, record: FileRecord, request: TransferRequest
    ) -> TransferReply:
        """Answer a request to one of ``endpoints`` for a live file of this mechanism."""


def _registered() -> tuple[Mechanism, ...]:
    from .http_post_bytes import HttpPostBytes
    from .s3_multipart import S3MultipartPresigned

    # Preferred first: large files should never pass through Lambda.
    return (S3MultipartPresigned(), HttpPostBytes())


REGISTERED: tuple[Mechanism, ...] = _registered()
IDENTIFIERS: tuple[str, ...] = tuple(m.identifier for m in REGISTERED)
_BY_ID = {m.identifier: m for m in REGISTERED}
ENDPOINTS: dict[str, Mechanism] = {name: m for m in REGISTERED for name in m.endpoints}


def mechanism_for(identifier: str) -> Mechanism:
    """The registered mechanism; ``UnprocessableError`` (422) for one this server lacks."""
    mechanism = _BY_ID.get(identifier)
    if mechanism is None:
        raise UnprocessableError(
            f"Unsupported upload mechanism {identifier[:100]!r}; this server offers "
            f"{', '.join(IDENTIFIERS)}.",
            errors=[{"source": "mechanism", "message": "unsupported mechanism"}],
        )
    return mechanism
