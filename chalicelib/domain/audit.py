"""The audit trail: what a security-relevant event records, and how its id is made.

Events are appended, never changed (a failed-authentication summary only counts up).
Every event has a deterministic id built from what it is about (``token.created`` and
the token's id, ``file.completed`` and the session and file), so a handler that runs
twice under at-least-once delivery records the event once: the store's write is
conditional on the id being new.

Events never hold a secret: tokens appear by their public id, sessions by the first
characters of their token (as in the logs; the whole token is a stage credential),
failed authentications by source address and reason, never the credential presented.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, ConfigDict, Field

from .identity import PublisherIdentity
from .model import WharfModel

SYSTEM = "system"  # the actor of what wharf does by itself (validator, publisher, sweeper)
ANONYMOUS = "anonymous"  # the actor of a failed authentication
MAX_PAGE = 200
MAX_TEXT = 500


class AuditKind(StrEnum):
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    TOKEN_MINTED = "token.minted"  # trusted publishing exchanged an OIDC token for a wharf one
    PUBLISHER_ADDED = "publisher.added"
    PUBLISHER_REMOVED = "publisher.removed"
    AUTH_FAILED = "auth.failed"  # summarised: one event per source, reason and time bucket
    PERMISSION_DENIED = "permission.denied"  # a known token lacked a permission (403)
    SESSION_OPENED = "session.opened"
    FILE_COMPLETED = "file.completed"
    FILE_REFUSED = "file.refused"
    PUBLISH_REQUESTED = "release.publish-requested"
    RELEASE_PUBLISHED = "release.published"
    SESSION_CANCELED = "session.canceled"
    SESSION_EXPIRED = "session.expired"
    YANKED = "release.yanked"
    UNYANKED = "release.unyanked"
    PROJECT_STATUS = "project.status"
    PROJECT_SETTINGS = "project.settings"


# Written in the same transaction as the change they record: if the audit trail cannot be
# written, the change is not made (services/audit.py says why the others are best-effort).
TRANSACTIONAL = frozenset(
    {
        AuditKind.TOKEN_CREATED,
        AuditKind.TOKEN_REVOKED,
        AuditKind.TOKEN_MINTED,
        AuditKind.PUBLISHER_ADDED,
        AuditKind.PUBLISHER_REMOVED,
    }
)


class ReleasePublisher(WharfModel):
    """Who published a release: the token that asked, and the CI identity behind a token
    minted by trusted publishing."""

    model_config = ConfigDict(frozen=True)

    token_id: str
    publisher: PublisherIdentity | None = None


def session_ref(token: str) -> str:
    """How the audit trail names a session: enough to match ``wharf session list``."""
    return token[:8]


def session_key(token: str) -> str:
    """A session in an event id: a digest, as the token itself is a stage credential."""
    return hashlib.sha256(token.encode()).hexdigest()[:24]


class AuditEvent(WharfModel):
    """One entry of the trail.

    ``actor`` is a token id, ``system`` or ``anonymous``; ``publisher`` the CI identity
    behind a trusted-publishing token. ``subject`` names what the event is about (a
    filename, a token id, a session), ``reason`` why (a refusal's notices, a yank's
    reason), ``details`` the rest as short strings (the OIDC claims that matched a mint).
    """

    model_config = ConfigDict(frozen=True)

    event_id: str = Field(min_length=1, max_length=600)
    kind: AuditKind
    at: datetime
    actor: str
    publisher: PublisherIdentity | None = None
    project: str | None = None
    version: str | None = None
    subject: str | None = None
    reason: str | None = Field(default=None, max_length=MAX_TEXT)
    details: dict[str, str] = Field(default_factory=dict)
    count: int = 1  # failed authentications summarised into this event

    @classmethod
    def of(
        cls,
        kind: AuditKind,
        key: str,
        *,
        at: datetime,
        actor: str,
        publisher: PublisherIdentity | None = None,
        **fields: Any,
    ) -> AuditEvent:
        """An event whose id is ``kind`` and ``key``: the same fact always gets the same id."""
        if fields.get("reason"):
            fields["reason"] = str(fields["reason"])[:MAX_TEXT]
        return cls(
            event_id=f"{kind}:{key}", kind=kind, at=at, actor=actor, publisher=publisher, **fields
        )

    @classmethod
    def token_minted(
        cls,
        *,
        token_id: str,
        identity: PublisherIdentity,
        at: datetime,
        projects: tuple[str, ...] | list[str],
        permissions: tuple[str, ...] | list[str],
        expires_at: datetime,
    ) -> AuditEvent:
        """What trusted publishing records when it mints a token (in the same transaction
        as the token): the publisher that matched and the claims it matched on."""
        claims = {
            "issuer": identity.issuer,
            "repository": identity.repository,
            "workflow": identity.workflow,
            "environment": identity.environment,
            "ref": identity.ref,
            "run_id": identity.run_id,
        }
        details = {k: v for k, v in claims.items() if v}
        details.update(
            projects=",".join(projects),
            permissions=",".join(permissions),
            expires_at=expires_at.isoformat(),
        )
        return cls.of(
            AuditKind.TOKEN_MINTED,
            token_id,
            at=at,
            actor=f"publisher:{identity.publisher_id}",
            publisher=identity,
            subject=token_id,
            details=details,
        )

    @property
    def digest(self) -> str:
        """A fixed-length form of the id, for storage keys."""
        return hashlib.sha256(self.event_id.encode()).hexdigest()[:32]


def auth_bucket(at: datetime, bucket: timedelta) -> datetime:
    """The start of the time bucket failed authentications at ``at`` are counted in."""
    seconds = int(bucket.total_seconds())
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=at.tzinfo)


class AuditQuery(WharfModel):
    """Which events to list. ``newest_first`` is the default order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: str | None = Field(default=None, max_length=200)
    actor: str | None = Field(default=None, max_length=200)
    since: AwareDatetime | None = None
    newest_first: bool = True
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)

    def matches(self, event: AuditEvent) -> bool:
        if self.project is not None and event.project != self.project:
            return False
        if self.actor is not None and self.actor not in (event.actor, _publisher_of(event)):
            return False
        return self.since is None or event.at >= self.since


def _publisher_of(event: AuditEvent) -> str | None:
    return f"publisher:{event.publisher.publisher_id}" if event.publisher else None


class AuditPage(WharfModel):
    """One page of events and the cursor of the next (``None``: no more)."""

    model_config = ConfigDict(frozen=True)

    events: list[AuditEvent]
    cursor: str | None = None


def encode_cursor(position: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, sort_keys=True).encode()).decode()


def decode_cursor(cursor: str) -> dict[str, str]:
    """The position a cursor names; ``ValueError`` for anything this module did not make."""
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeError) as error:
        raise ValueError("not a cursor of this listing") from error
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError("not a cursor of this listing")
    return value
