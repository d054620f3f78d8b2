"""Issuing, checking, listing and revoking API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..domain.audit import SYSTEM, AuditKind
from ..domain.errors import AuthenticationError, ConflictError, NotFoundError, RevokedTokenError
from ..domain.tokens import (
    Principal,
    Role,
    TokenRecord,
    TokenRequest,
    hash_secret,
    new_record,
    new_secret,
    new_token_id,
)

if TYPE_CHECKING:
    from ..domain.identity import PublisherIdentity
    from ..domain.ports import Clock, TokenStore
    from .audit import AuditTrail

_INVALID = "Invalid or revoked token."
_CACHE_ENTRIES = 1024


@dataclass(frozen=True)
class TokenView:
    """A stored token with its status (``active``, ``expired``, ``revoked``) as of one read."""

    record: TokenRecord
    status: str


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the record and the secret, which exists only in this object."""

    record: TokenRecord
    secret: str
    status: str = "active"


class TokenService:
    def __init__(
        self,
        store: TokenStore,
        clock: Clock,
        *,
        touch_seconds: int,
        retention_days: int,
        audit: AuditTrail,
        cache_seconds: int = 0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._audit = audit
        self._touch = timedelta(seconds=touch_seconds)
        self._retention = timedelta(days=retention_days)
        # Live records by secret hash, with when they were read: an install sends a hundred
        # requests with one token, and the read was half of each request's work.
        self._cache_for = timedelta(seconds=cache_seconds)
        self._cache: dict[str, tuple[TokenRecord, datetime]] = {}

    def issue(self, request: TokenRequest, *, by: Principal | str = SYSTEM) -> IssuedToken:
        """Create a token with a fresh secret; the secret is returned once and never stored.

        The token and its audit event are one write: no token exists unrecorded."""
        secret = new_secret()
        record = new_record(request, secret, self._clock())
        self._add(record, by)
        return IssuedToken(record=record, secret=secret)

    def _add(self, record: TokenRecord, by: Principal | str) -> None:
        details = {
            "role": str(record.role),
            "permissions": ",".join(record.principal().permissions),
            "projects": ",".join(record.projects),
            "expires_at": record.expires_at.isoformat() if record.expires_at else "never",
        }
        if record.description:
            details["description"] = record.description
        event = self._audit.event(
            AuditKind.TOKEN_CREATED, record.id, by, subject=record.id, details=details
        )
        self._store.add(
            record, expire_at=self._cleanup_time(record), audit=self._audit.entry(event)
        )

    def mint(
        self,
        *,
        projects: tuple[str, ...],
        lifetime: timedelta,
        may_publish: bool,
        publisher: PublisherIdentity,
        description: str,
        claims: dict[str, str],
    ) -> IssuedToken:
        """A short-lived upload token for a trusted publisher's CI run, stored hashed like
        every other token (so it authenticates, lists and revokes the same way)."""
        secret = new_secret()
        now = self._clock()
        record = TokenRecord(
            id=new_token_id(),
            secret_hash=hash_secret(secret),
            role=Role.UPLOAD,
            projects=projects,
            description=description,
            created_at=now,
            expires_at=now + lifetime,
            may_publish=may_publish,
            publisher=publisher,
        )
        # Minted tokens are many and short-lived: their records go a day after expiry
        # (the audit trail keeps the history), not after the long-lived tokens' retention.
        # The token and its audit event (with the claims that matched) are one write.
        event = self._audit.event(
            AuditKind.TOKEN_MINTED,
            record.id,
            record.principal(),
            subject=record.id,
            details={**claims, "publisher_id": publisher.publisher_id},
        )
        self._store.add(
            record, expire_at=now + lifetime + timedelta(days=1), audit=self._audit.entry(event)
        )
        return IssuedToken(record=record, secret=secret)

    def import_secret(self, secret: str, request: TokenRequest) -> TokenRecord:
        """Store a token for a secret chosen elsewhere (the local stack's bootstrap admin).

        Idempotent: a live secret already stored is returned as it is; one that was
        revoked or has expired raises ``ConflictError`` rather than coming back to life.
        """
        existing = self._store.get_by_hash(hash_secret(secret))
        if existing is not None:
            if existing.status(self._clock()) != "active":
                raise ConflictError("This secret belonged to a token that was revoked or expired.")
            return existing
        record = new_record(request, secret, self._clock())
        self._add(record, "bootstrap")
        return record

    def authenticate(self, secret: str, *, source: str = "unknown") -> Principal:
        """The principal for a presented secret; raises ``AuthenticationError`` unless it is live.

        Expiry is checked on every call; revocation on the stored record, read at most
        ``cache_seconds`` ago (a revocation made through this instance applies at once). A
        refusal is counted in the audit trail for ``source`` (the caller's address), by reason.
        """
        now = self._clock()
        secret_hash = hash_secret(secret)
        record = self._cached(secret_hash, now)
        if record is None:
            record = self._store.get_by_hash(secret_hash)
            if record is None:
                self._audit.authentication_failed(source, "unknown token")
                raise AuthenticationError(_INVALID)
        status = record.status(now)
        if status == "expired":
            self._audit.authentication_failed(source, "expired token")
            raise AuthenticationError("This token has expired.")
        if status != "active":
            self._audit.authentication_failed(source, "revoked token")
            self._cache.pop(secret_hash, None)
            raise RevokedTokenError(_INVALID)
        if record.last_used_at is None or now - record.last_used_at >= self._touch:
            self._store.touch(record.secret_hash, now, not_since=now - self._touch)
            record = record.model_copy(update={"last_used_at": now})
        self._remember(record, now)
        return record.principal()

    def _cached(self, secret_hash: str, now: datetime) -> TokenRecord | None:
        found = self._cache.get(secret_hash)
        if found is None or not (found[1] <= now < found[1] + self._cache_for):
            return None
        return found[0]

    def _remember(self, record: TokenRecord, now: datetime) -> None:
        if not self._cache_for:
            return
        if record.secret_hash not in self._cache and len(self._cache) >= _CACHE_ENTRIES:
            self._cache.clear()  # bounded memory; the next requests read afresh
        if self._cached(record.secret_hash, now) is None:
            self._cache[record.secret_hash] = (record, now)
        else:  # keep when it was read, so the cache never outlives cache_seconds
            self._cache[record.secret_hash] = (record, self._cache[record.secret_hash][1])

    def list(self) -> list[TokenView]:
        now = self._clock()
        return [TokenView(record=r, status=r.status(now)) for r in self._store.all()]

    def revoke(self, token_id: str, *, by: Principal | str = SYSTEM) -> TokenRecord:
        """Revoke the token with this id; the next request that presents it gets 401."""
        record = self._store.get_by_id(token_id)
        if record is None or record.revoked_at is not None:
            raise NotFoundError(f"No live token with id {token_id!r}.")
        now = self._clock()
        event = self._audit.event(AuditKind.TOKEN_REVOKED, record.id, by, subject=record.id)
        self._store.revoke(
            record.secret_hash,
            now,
            expire_at=now + self._retention,
            audit=self._audit.entry(event),
        )
        self._cache.pop(record.secret_hash, None)
        return record.model_copy(update={"revoked_at": now})

    def _cleanup_time(self, record: TokenRecord) -> datetime | None:
        return record.expires_at + self._retention if record.expires_at else None


def bootstrap_admin_request(description: str) -> TokenRequest:
    return TokenRequest(role=Role.ADMIN, description=description)
