"""API tokens: what a token is, how a secret is made and checked, and what a role may do."""

from __future__ import annotations

import fnmatch
import hashlib
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ConfigDict, Field, field_validator, model_validator

from .identity import PublisherIdentity
from .model import WharfModel

# Secret scanners key on a fixed prefix; GitHub's push protection and similar
# tools can be taught `wharf_[A-Za-z0-9_-]{43}`.
TOKEN_PREFIX = "wharf_"
SECRET_BYTES = 32  # 256 bits of randomness
MAX_PATTERNS = 50
MAX_DESCRIPTION = 200
MAX_EXPIRY_DAYS = 3650

# A project-name pattern is a project name in which `*` stands for any run of
# characters; it is normalised like a name (PEP 503) before it is stored.
_PATTERN_RE = re.compile(r"^[A-Z0-9*]([A-Z0-9._*-]*[A-Z0-9*])?\Z", re.IGNORECASE | re.ASCII)


class Role(StrEnum):
    READ = "read"
    UPLOAD = "upload"
    ADMIN = "admin"


def new_secret() -> str:
    """A fresh token secret: the prefix and 256 random bits, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def new_token_id() -> str:
    """A short public identifier for a token, unrelated to its secret."""
    return secrets.token_hex(8)


def hash_secret(secret: str) -> str:
    """The stored form of a secret.

    A plain SHA-256 suffices: generated secrets carry 256 random bits, so there
    is nothing for a slow password hash to protect against.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalize_pattern(pattern: object) -> str:
    """Validate a project-name pattern and return its normalised form.

    Raises ``ValueError`` with a sentence for a person.
    """
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValueError("a project pattern must not be empty")
    if len(pattern) > 200:
        raise ValueError("a project pattern must be at most 200 characters")
    if not _PATTERN_RE.match(pattern):
        raise ValueError(
            f"{pattern!r} is not a project-name pattern: use letters, digits, '.', '_', '-' "
            "and '*', starting and ending with a letter, digit or '*'"
        )
    return re.sub(r"[-_.]+", "-", pattern).lower()


def pattern_matches(pattern: str, canonical_name: str) -> bool:
    """Whether a normalised pattern covers a canonicalised project name."""
    return fnmatch.fnmatchcase(canonical_name, pattern)


class TokenRequest(WharfModel):
    """What an admin asks for when creating a token; every problem is reported at once."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    projects: list[str] = Field(default_factory=list, max_length=MAX_PATTERNS)
    expires_days: int | None = Field(default=None, ge=1, le=MAX_EXPIRY_DAYS)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    # False gives an upload token the `upload` permission alone (stage, never publish).
    publish: bool = True

    @field_validator("projects")
    @classmethod
    def _normalise_patterns(cls, patterns: list[str]) -> list[str]:
        return sorted({normalize_pattern(p) for p in patterns})

    @field_validator("description")
    @classmethod
    def _printable_description(cls, text: str) -> str:
        if any(not ch.isprintable() for ch in text):
            raise ValueError("the description must be printable text on one line")
        return text.strip()

    @model_validator(mode="after")
    def _patterns_fit_role(self) -> TokenRequest:
        if self.role is Role.UPLOAD and not self.projects:
            raise ValueError("an upload token needs at least one project pattern")
        if self.role is not Role.UPLOAD and self.projects:
            raise ValueError(
                f"project patterns only apply to upload tokens; a {self.role} token "
                "covers every project"
            )
        if not self.publish and self.role is not Role.UPLOAD:
            raise ValueError(
                f"publish=false only applies to upload tokens; a {self.role} token "
                + ("may publish every project" if self.role is Role.ADMIN else "cannot upload")
            )
        return self


class TokenRecord(WharfModel):
    """A stored token. It never holds the secret, only its hash."""

    model_config = ConfigDict(frozen=True)

    id: str
    secret_hash: str
    role: Role
    projects: tuple[str, ...] = ()
    description: str = ""
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    # Tokens stored before the upload/publish split lack the attribute and keep publishing.
    may_publish: bool = True
    publisher: PublisherIdentity | None = None  # minted by trusted publishing

    def status(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"

    def principal(self) -> Principal:
        return Principal(
            token_id=self.id,
            role=self.role,
            projects=self.projects,
            may_publish=self.may_publish or self.role is Role.ADMIN,
            publisher=self.publisher,
        )


def new_record(request: TokenRequest, secret: str, now: datetime) -> TokenRecord:
    """The record to store for a freshly issued secret."""
    expires_at = now + timedelta(days=request.expires_days) if request.expires_days else None
    return TokenRecord(
        id=new_token_id(),
        secret_hash=hash_secret(secret),
        role=request.role,
        projects=tuple(request.projects),
        description=request.description,
        created_at=now,
        expires_at=expires_at,
        may_publish=request.publish,
    )


class Principal(WharfModel):
    """Who is calling, as far as authorisation cares."""

    model_config = ConfigDict(frozen=True)

    token_id: str
    role: Role
    projects: tuple[str, ...] = ()
    # May publish (and cancel) sessions, and upload through the legacy API without
    # staging. Upload tokens made with --no-publish and upload-only trusted publishers
    # lack it; every token made before the split keeps it.
    may_publish: bool = True
    # Set only on tokens minted by trusted publishing: the CI identity behind them.
    publisher: PublisherIdentity | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def _covers(self, canonical_name: str) -> bool:
        return any(pattern_matches(p, canonical_name) for p in self.projects)

    def can_read_index(self) -> bool:
        """May list every project (the root index)."""
        return self.role in (Role.READ, Role.ADMIN)

    def can_read(self, canonical_name: str) -> bool:
        """May read one project's page and files; upload implies read of the same projects."""
        return self.can_read_index() or (self.role is Role.UPLOAD and self._covers(canonical_name))

    def can_upload(self, canonical_name: str) -> bool:
        return self.role is Role.ADMIN or (
            self.role is Role.UPLOAD and self._covers(canonical_name)
        )

    def can_publish(self, canonical_name: str) -> bool:
        """May publish or cancel a session of the project (the `publish` permission)."""
        return self.can_upload(canonical_name) and (self.is_admin or self.may_publish)

    @property
    def permissions(self) -> tuple[str, ...]:
        """What the token may do, as the admin API and the audit trail name it."""
        if self.role is Role.READ:
            return ("read",)
        return ("upload", "publish") if self.may_publish or self.is_admin else ("upload",)
