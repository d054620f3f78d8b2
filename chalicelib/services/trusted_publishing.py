"""Trusted publishing: the registry of trusted publishers, and PyPI's token exchange (an
OIDC token from a CI run for a short-lived wharf upload token)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..domain.audit import SYSTEM, AuditKind
from ..domain.errors import NotFoundError
from ..domain.trusted_publishers import (
    INVALID_PAYLOAD,
    INVALID_PUBLISHER,
    INVALID_REUSE,
    INVALID_TOKEN,
    MintRefused,
    PublisherRequest,
    TrustedPublisher,
    audit_claims,
    best_match,
    identity_of,
    new_publisher,
)

if TYPE_CHECKING:
    from joserfc.jwk import KeySet

    from ..domain.identity import PublisherIdentity
    from ..domain.ports import Clock, IssuerDocuments, ReplayGuard, TrustedPublisherStore
    from ..domain.tokens import Principal
    from .audit import AuditTrail
    from .tokens import IssuedToken, TokenService

# joserfc (and cryptography under it) is imported where a token is verified, not with the
# module: every Lambda sandbox builds the container, few ever mint (about 40 ms CPU saved
# on each cold start, the validator's included).

# A CI token is about 1-2 KB; anything far larger is not one.
MAX_JWT_BYTES = 16 * 1024
# Signatures PyPI accepts from CI issuers (RSA), plus the EC ones some issuers use;
# never "none" nor an HMAC (which would take the public key as a shared secret).
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384"]
MAX_KEYS = 50
MAX_OIDC_LIFETIME = timedelta(days=7)
MAX_ISSUERS = 32


@dataclass(frozen=True)
class OidcPolicy:
    audience: str
    leeway: timedelta = timedelta(seconds=30)
    token_lifetime: timedelta = timedelta(minutes=15)
    # Keys are refetched this often, and at most this often when a token names an unknown
    # key (so a stream of made-up key ids cannot turn into a stream of fetches).
    keys_max_age: timedelta = timedelta(minutes=5)
    refresh_cooldown: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class Minted:
    """A token issued by an exchange, and what the audit trail records of it."""

    issued: IssuedToken
    publisher: TrustedPublisher
    identity: PublisherIdentity
    claims: dict[str, str]  # the matched claims worth recording (repository, ref, run id)


@dataclass
class _CachedKeys:
    keys: KeySet | None
    fetched_at: datetime
    kids: frozenset[str] = field(default_factory=frozenset)


class IssuerKeys:
    """Each issuer's signing keys, found through its discovery document and cached per
    process (bounded), refreshed when stale or, with a cooldown, when a key id is unknown.

    A failed refresh keeps the keys already held, as Warehouse does: an issuer's outage
    should not stop publishing with tokens it signed before.
    """

    def __init__(self, documents: IssuerDocuments, clock: Clock, policy: OidcPolicy) -> None:
        self._documents = documents
        self._clock = clock
        self._policy = policy
        self._cache: dict[str, _CachedKeys] = {}
        self._lock = threading.Lock()

    def keys_for(self, issuer: str, kid: str | None) -> KeySet | None:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(issuer)
        if cached is not None:
            age = now - cached.fetched_at
            known = kid in cached.kids
            if age < self._policy.keys_max_age and (known or age < self._policy.refresh_cooldown):
                return cached.keys
        fresh = self._fetch(issuer)
        with self._lock:
            if fresh is not None or cached is None:
                if len(self._cache) >= MAX_ISSUERS and issuer not in self._cache:
                    self._cache.pop(next(iter(self._cache)))
                kids = frozenset(k.kid for k in fresh.keys if k.kid) if fresh else frozenset()
                self._cache[issuer] = _CachedKeys(fresh, now, kids)
            else:  # keep the keys we had, and wait out the cooldown before trying again
                self._cache[issuer] = _CachedKeys(cached.keys, now, cached.kids)
            return self._cache[issuer].keys

    def _fetch(self, issuer: str) -> KeySet | None:
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        try:
            discovery = self._documents.get_json(issuer + "/.well-known/openid-configuration")
            if not isinstance(discovery, dict) or discovery.get("issuer") != issuer:
                return None
            jwks_uri = discovery.get("jwks_uri")
            # Only the issuer's own host is ever fetched.
            if not isinstance(jwks_uri, str) or not _same_origin(jwks_uri, issuer):
                return None
            jwks = self._documents.get_json(jwks_uri)
            if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
                return None
            usable = [k for k in jwks["keys"][:MAX_KEYS] if isinstance(k, dict) and "kid" in k]
            return KeySet.import_key_set({"keys": usable}) if usable else None
        except (OSError, JoseError, ValueError, TypeError):
            return None


def _same_origin(url: str, issuer: str) -> bool:
    a, b = urlsplit(url), urlsplit(issuer)
    return a.scheme == "https" and (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a compact JWS, not yet verified: only to pick the issuer
    and key before verification."""
    from joserfc.errors import JoseError
    from joserfc.jws import extract_compact

    try:
        compact = extract_compact(token.encode("ascii"))
        claims = json.loads(compact.payload)
    # RecursionError: a payload of nested brackets (json has no depth limit of its own).
    except (JoseError, ValueError, UnicodeError, RecursionError) as error:
        raise MintRefused(INVALID_PAYLOAD, "malformed JWT") from error
    header = dict(compact.headers())
    if not isinstance(claims, dict) or not isinstance(claims.get("iss"), str):
        raise MintRefused(INVALID_PAYLOAD, "malformed JWT")
    return header, claims


def _described(publisher: TrustedPublisher) -> dict[str, str]:
    """What the audit trail keeps of a publisher: who may publish what, from where."""
    fields = ("repository", "repository_owner_id", "workflow", "environment", "ref")
    return {
        "kind": str(publisher.kind),
        "issuer": publisher.issuer,
        "projects": ",".join(publisher.projects),
        "may_publish": str(publisher.may_publish).lower(),
        **{f: str(getattr(publisher, f))[:200] for f in fields if getattr(publisher, f)},
        **{f"claim.{k}": str(v)[:200] for k, v in sorted(publisher.claims.items())},
    }


class TrustedPublishing:
    def __init__(
        self,
        publishers: TrustedPublisherStore,
        replay: ReplayGuard,
        tokens: TokenService,
        keys: IssuerKeys,
        clock: Clock,
        policy: OidcPolicy,
        audit: AuditTrail,
    ) -> None:
        self._audit = audit
        self._publishers = publishers
        self._replay = replay
        self._tokens = tokens
        self._keys = keys
        self._clock = clock
        self._policy = policy

    @property
    def audience(self) -> str:
        return self._policy.audience

    # --- the registry (admin) ------------------------------------------------------------

    def register(
        self, request: PublisherRequest, *, by: Principal | str = SYSTEM
    ) -> TrustedPublisher:
        publisher = new_publisher(request, self._clock())
        event = self._audit.event(
            AuditKind.PUBLISHER_ADDED,
            publisher.id,
            by,
            subject=publisher.id,
            details=_described(publisher),
        )
        self._publishers.add(publisher, audit=self._audit.entry(event))
        return publisher

    def list(self) -> list[TrustedPublisher]:
        return self._publishers.all()

    def remove(self, publisher_id: str, *, by: Principal | str = SYSTEM) -> TrustedPublisher:
        if not publisher_id or len(publisher_id) > 100:
            raise NotFoundError(f"No trusted publisher with id {publisher_id!r}.")
        event = self._audit.event(
            AuditKind.PUBLISHER_REMOVED, publisher_id, by, subject=publisher_id
        )
        return self._publishers.remove(publisher_id, audit=self._audit.entry(event))

    # --- the exchange --------------------------------------------------------------------

    def mint(self, token: str) -> Minted:
        """Verify a CI's OIDC token and issue a wharf token for the publisher it belongs to;
        raises ``MintRefused`` with PyPI's code. Descriptions never say which claim of which
        publisher failed to match."""
        if len(token) > MAX_JWT_BYTES:
            raise MintRefused(INVALID_PAYLOAD, "malformed JWT")
        header, unverified = _unverified(token)
        issuer = unverified["iss"]
        candidates = [p for p in self._publishers.all() if p.issuer == issuer]
        if not candidates:
            # Only registered issuers are ever contacted.
            raise MintRefused(INVALID_PAYLOAD, "unknown trusted publishing issuer")
        claims = self._verified(token, issuer, header)
        publisher = best_match(candidates, claims)
        if publisher is None:
            raise MintRefused(INVALID_PUBLISHER, "valid token, but no corresponding publisher")
        # The replay record lives as long as the token could still be accepted.
        expire_at = datetime.fromtimestamp(claims["exp"], self._clock().tzinfo)
        if not self._replay.first_use(
            issuer,
            claims["jti"],
            expire_at=expire_at + self._policy.leeway + timedelta(seconds=5),
        ):
            raise MintRefused(INVALID_REUSE, "invalid token: already used")
        identity = identity_of(publisher, claims)
        matched = audit_claims(publisher, claims)
        issued = self._tokens.mint(
            projects=publisher.projects,
            lifetime=self._policy.token_lifetime,
            may_publish=publisher.may_publish,
            publisher=identity,
            description=f"trusted publisher {publisher.id}",
            claims=matched,
        )
        return Minted(issued, publisher, identity, matched)

    def _verified(self, token: str, issuer: str, header: dict[str, Any]) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError

        kid = header.get("kid")
        keys = self._keys.keys_for(issuer, kid if isinstance(kid, str) else None)
        invalid = MintRefused(INVALID_TOKEN, "malformed or invalid token")
        if keys is None or not isinstance(kid, str):
            raise invalid
        now = self._clock()
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(now.timestamp()),
            leeway=int(self._policy.leeway.total_seconds()),
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": self._policy.audience},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
        )
        try:
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
            registry.validate(decoded.claims)
        except (JoseError, ValueError, TypeError) as error:
            raise invalid from error
        claims = decoded.claims
        # One audience only (PyPI's strict_aud): a token meant for several parties is not
        # meant for this exchange. The jti is a key in the replay table: keep it short.
        if not isinstance(claims.get("aud"), str) or not isinstance(claims["jti"], str):
            raise invalid
        if not 0 < len(claims["jti"]) <= 200:
            raise invalid
        # CI tokens live minutes (GitHub) or a job's timeout (GitLab); one valid for longer
        # is not a CI token, and its replay record would have to be kept as long.
        if claims["exp"] > now.timestamp() + MAX_OIDC_LIFETIME.total_seconds():
            raise invalid
        return claims
