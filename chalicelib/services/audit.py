"""Recording and reading the audit trail.

When a write of the trail fails, what happens depends on what is being recorded:

- Changes of who may do what (tokens created, revoked or minted; trusted publishers
  added or removed) are written in the same DynamoDB transaction as their event
  (``TokenStore.add(..., audit=...)``): no such change exists without its record, and an
  unavailable trail refuses the change (fail closed).
- Admin moderation (yanks, project status and settings) is checked first, then recorded
  with ``record`` (an error refuses the request), then made: the trail may hold an
  admin's action whose write then failed, never a change it does not show.
- Everything else (sessions, files, publishes, cancels, failed authentications) is
  recorded with ``note`` after the change commits: the change cannot be taken back and
  many happen in event handlers, where raising would only retry work already done. A
  failure is logged as an error (alarmed on) and the user's action stands. Ids are
  deterministic, so a handler that runs again under at-least-once delivery writes the
  event once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..domain.audit import (
    ANONYMOUS,
    AuditEvent,
    AuditKind,
    AuditPage,
    AuditQuery,
    auth_bucket,
)
from ..domain.errors import InvalidRequestError
from ..domain.ports import Audited, AuditLog, Clock
from ..domain.tokens import Principal
from ..observability import logger


class AuditTrail:
    def __init__(
        self, log: AuditLog, clock: Clock, *, retention: timedelta, auth_bucket: timedelta
    ) -> None:
        self._log = log
        self._clock = clock
        self._retention = retention
        self._bucket = auth_bucket

    def now(self) -> datetime:
        return self._clock()

    def entry(self, event: AuditEvent) -> Audited:
        """The event with its retention, for a store that writes it with a change."""
        return Audited(event=event, expire_at=event.at + self._retention)

    def record(self, event: AuditEvent) -> None:
        """Write the event or raise (fail closed); a repeat of a recorded id is a no-op."""
        self._log.append(self.entry(event))

    def note(self, event: AuditEvent) -> None:
        """Write the event; a failure is logged and swallowed (best-effort, see above)."""
        try:
            self._log.append(self.entry(event))
        except Exception:
            logger.exception("audit event not recorded", extra={"audit_kind": str(event.kind)})

    def event(self, kind: AuditKind, key: str, actor: Principal | str, **fields: Any) -> AuditEvent:
        """An event now, by a caller or by ``actor`` (``SYSTEM``, a token id)."""
        if isinstance(actor, Principal):
            return AuditEvent.of(
                kind,
                key,
                at=self._clock(),
                actor=actor.token_id,
                publisher=actor.publisher,
                **fields,
            )
        return AuditEvent.of(kind, key, at=self._clock(), actor=actor, **fields)

    def authentication_failed(self, source: str, reason: str) -> None:
        """Count a refused credential for ``source`` in the current time bucket; never the
        credential itself. Best-effort, like ``note``."""
        at = auth_bucket(self._clock(), self._bucket)
        event = AuditEvent.of(
            AuditKind.AUTH_FAILED,
            f"{source}:{reason}:{at.isoformat()}",
            at=at,
            actor=ANONYMOUS,
            subject=source,
            reason=reason,
            details={"bucket_seconds": str(int(self._bucket.total_seconds()))},
        )
        try:
            self._log.count_failure(self.entry(event))
        except Exception:
            logger.exception("audit event not recorded", extra={"audit_kind": str(event.kind)})

    def page(self, query: AuditQuery, cursor: str | None) -> AuditPage:
        now = self._clock()
        try:
            return self._log.page(query, cursor=cursor, now=now, oldest=now - self._retention)
        except ValueError as error:
            raise InvalidRequestError(
                "The cursor is not one this listing handed out; start again without it.",
                errors=[{"source": "cursor", "message": str(error)}],
            ) from error
