"""Trusted publishers: which CI identities may mint a short-lived upload token, and the
pure rules that decide whether a verified OIDC token's claims belong to one.

GitHub Actions and GitLab CI are built in with their claim names (the checks follow
PyPI's, docs/trusted-publishing.md); any other issuer is registered by URL with the
exact claim values it must carry.
"""

from __future__ import annotations

import fnmatch
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator, model_validator

from .identity import IssuerKind, PublisherIdentity
from .model import WharfModel
from .tokens import MAX_DESCRIPTION, MAX_PATTERNS, normalize_pattern

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
MAX_CLAIMS = 20
MAX_VALUE = 300

# PyPI's error codes (warehouse/oidc/views.py), so tools that print them read the same.
INVALID_PAYLOAD = "invalid-payload"
INVALID_TOKEN = "invalid-token"
INVALID_PUBLISHER = "invalid-publisher"
INVALID_REUSE = "invalid-reuse-token"
NOT_ENABLED = "not-enabled"


class MintRefused(Exception):
    """A token exchange refused, with PyPI's error code and a description that names no
    claim and no publisher (the caller learns only which step failed)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def issuer_url(value: str) -> str:
    """An issuer URL as registered: https, a host, no query, fragment or credentials."""
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("an OIDC issuer must be an https URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("an OIDC issuer URL has no query, fragment or credentials")
    return value.strip().rstrip("/")


def _text(value: str, what: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_VALUE or any(not ch.isprintable() for ch in value):
        raise ValueError(f"{what} must be printable text of 1 to {MAX_VALUE} characters")
    return value


_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\Z")
_GITLAB_PATH_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+\Z")
_WORKFLOW_RE = re.compile(r"^[^/]+\.ya?ml\Z")


class PublisherRequest(WharfModel):
    """What an admin registers. Every problem is reported at once."""

    model_config = ConfigDict(extra="forbid")

    kind: IssuerKind
    # GitHub defaults to github.com's (GitHub Enterprise Server names its own); GitLab to
    # gitlab.com's (self-managed instances name theirs); any other issuer must be named.
    issuer: str | None = None
    repository: str | None = None  # GitHub "owner/repo"; GitLab project path
    repository_owner_id: str | None = None  # GitHub: survives renames, refuses resurrection
    workflow: str | None = None  # GitHub: file name in .github/workflows; GitLab: CI config path
    environment: str | None = None
    ref: str | None = None  # GitHub: a pattern the `ref` claim must match (refs/tags/v*)
    claims: dict[str, str] = Field(default_factory=dict)  # other issuers: exact claim values
    projects: list[str] = Field(min_length=1, max_length=MAX_PATTERNS)
    may_publish: bool = True
    description: str = Field(default="", max_length=MAX_DESCRIPTION)

    @field_validator("projects")
    @classmethod
    def _patterns(cls, patterns: list[str]) -> list[str]:
        return sorted({normalize_pattern(p) for p in patterns})

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str | None) -> str | None:
        return issuer_url(value) if value is not None else None

    @field_validator("repository", "repository_owner_id", "workflow", "environment", "ref")
    @classmethod
    def _field_text(cls, value: str | None, info: Any) -> str | None:
        return _text(value, info.field_name) if value is not None else None

    @field_validator("claims")
    @classmethod
    def _claims(cls, claims: dict[str, str]) -> dict[str, str]:
        if len(claims) > MAX_CLAIMS:
            raise ValueError(f"at most {MAX_CLAIMS} claims")
        return {_text(k, "a claim name"): _text(v, f"claim {k!r}") for k, v in claims.items()}

    @field_validator("description")
    @classmethod
    def _description(cls, text: str) -> str:
        if any(not ch.isprintable() for ch in text):
            raise ValueError("the description must be printable text on one line")
        return text.strip()

    @model_validator(mode="after")
    def _fits_kind(self) -> PublisherRequest:
        missing: list[str] = []
        if self.kind is IssuerKind.GITHUB:
            missing = [
                n for n in ("repository", "repository_owner_id", "workflow") if not getattr(self, n)
            ]
            if self.repository and not _REPOSITORY_RE.match(self.repository):
                raise ValueError("a GitHub repository is 'owner/name'")
            if self.repository_owner_id and not self.repository_owner_id.isdigit():
                raise ValueError("repository_owner_id is GitHub's numeric owner id")
            if self.workflow and not _WORKFLOW_RE.match(self.workflow):
                raise ValueError(
                    "workflow is the file name in .github/workflows (release.yml), not a path"
                )
        elif self.kind is IssuerKind.GITLAB:
            missing = [n for n in ("repository", "workflow") if not getattr(self, n)]
            if self.repository and not _GITLAB_PATH_RE.match(self.repository):
                raise ValueError("a GitLab project path is 'namespace/project'")
            if self.workflow and not self.workflow.endswith((".yml", ".yaml")):
                raise ValueError("workflow is the CI config path (.gitlab-ci.yml)")
            if self.ref:
                raise ValueError("a ref pattern applies to GitHub publishers only")
        else:
            if self.issuer is None:
                raise ValueError("a publisher of another issuer needs the issuer's URL")
            if "sub" not in self.claims:
                raise ValueError("a publisher of another issuer must pin at least the 'sub' claim")
            named = ("repository", "repository_owner_id", "workflow", "environment", "ref")
            if any(getattr(self, n) for n in named):
                raise ValueError("another issuer's publisher is described by `claims` only")
        if missing:
            raise ValueError(f"a {self.kind} publisher needs {', '.join(missing)}")
        if self.kind is not IssuerKind.OTHER and self.claims:
            raise ValueError("`claims` applies to other issuers only")
        return self


class TrustedPublisher(WharfModel):
    """A registered trusted publisher."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: IssuerKind
    issuer: str
    repository: str | None = None
    repository_owner_id: str | None = None
    workflow: str | None = None
    environment: str | None = None
    ref: str | None = None
    claims: dict[str, str] = Field(default_factory=dict)
    projects: tuple[str, ...]
    may_publish: bool = True
    description: str = ""
    created_at: datetime


def new_publisher(request: PublisherRequest, now: datetime) -> TrustedPublisher:
    default_issuer = {IssuerKind.GITHUB: GITHUB_ISSUER, IssuerKind.GITLAB: GITLAB_ISSUER}
    return TrustedPublisher(
        id="tp-" + secrets.token_hex(6),
        kind=request.kind,
        issuer=request.issuer or default_issuer[request.kind],
        repository=request.repository,
        repository_owner_id=request.repository_owner_id,
        workflow=request.workflow,
        environment=request.environment,
        ref=request.ref,
        claims=request.claims,
        projects=tuple(request.projects),
        may_publish=request.may_publish,
        description=request.description,
        created_at=now,
    )


def _claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) else None


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


def _github_matches(publisher: TrustedPublisher, claims: Mapping[str, Any]) -> bool:
    repository = _claim(claims, "repository")
    if not _same(repository, publisher.repository):
        return False
    if _claim(claims, "repository_owner_id") != publisher.repository_owner_id:
        return False
    # The workflow that ran the job, at the ref or commit the job ran (as PyPI checks it);
    # a reusable workflow from elsewhere names another repository here and does not match.
    job_workflow_ref = _claim(claims, "job_workflow_ref") or ""
    path, _, at = job_workflow_ref.partition("@")
    expected_path = f"{publisher.repository}/.github/workflows/{publisher.workflow}"
    if not _same(path, expected_path) or at not in (_claim(claims, "ref"), _claim(claims, "sha")):
        return False
    # pull_request_target runs a base-branch workflow on behalf of a fork's pull request.
    if _claim(claims, "event_name") == "pull_request_target":
        return False
    if publisher.environment and not _same(_claim(claims, "environment"), publisher.environment):
        return False
    ref = _claim(claims, "ref")
    return not publisher.ref or (ref is not None and fnmatch.fnmatchcase(ref, publisher.ref))


def _gitlab_matches(publisher: TrustedPublisher, claims: Mapping[str, Any]) -> bool:
    project_path = _claim(claims, "project_path")
    if not _same(project_path, publisher.repository):
        return False
    sub = (_claim(claims, "sub") or "").split(":")
    if len(sub) < 2 or sub[0] != "project_path" or not _same(sub[1], publisher.repository):
        return False
    host = urlsplit(publisher.issuer).netloc
    uri = _claim(claims, "ci_config_ref_uri") or ""
    expected = f"{host}/{publisher.repository}//{publisher.workflow}@"
    refs = (_claim(claims, "ref_path"), _claim(claims, "sha"))
    if not (uri.lower().startswith(expected.lower()) and uri[len(expected) :] in refs):
        return False
    return not publisher.environment or _claim(claims, "environment") == publisher.environment


def matches(publisher: TrustedPublisher, claims: Mapping[str, Any]) -> bool:
    """Whether verified claims (issuer and audience already checked) are this publisher's."""
    if claims.get("iss") != publisher.issuer:
        return False
    if publisher.kind is IssuerKind.GITHUB:
        return _github_matches(publisher, claims)
    if publisher.kind is IssuerKind.GITLAB:
        return _gitlab_matches(publisher, claims)
    return all(_claim(claims, k) == v for k, v in publisher.claims.items())


def best_match(
    publishers: list[TrustedPublisher], claims: Mapping[str, Any]
) -> TrustedPublisher | None:
    """The most specific publisher the claims belong to: one that names an environment or a
    ref before one that does not (as PyPI prefers the environment-bound publisher)."""
    found = [p for p in publishers if matches(p, claims)]
    found.sort(key=lambda p: (p.environment is None, p.ref is None, p.created_at, p.id))
    return found[0] if found else None


def identity_of(publisher: TrustedPublisher, claims: Mapping[str, Any]) -> PublisherIdentity:
    """The CI identity a minted token carries: the registered publisher, and the run."""
    if publisher.kind is IssuerKind.GITHUB:
        ref, run = _claim(claims, "ref"), _claim(claims, "run_id")
    elif publisher.kind is IssuerKind.GITLAB:
        ref, run = _claim(claims, "ref_path"), _claim(claims, "pipeline_id")
    else:
        ref, run = None, None
    return PublisherIdentity(
        publisher_id=publisher.id,
        kind=publisher.kind,
        issuer=publisher.issuer,
        repository=publisher.repository or publisher.claims.get("sub", ""),
        workflow=publisher.workflow or "",
        environment=_claim(claims, "environment") if publisher.environment else None,
        ref=ref,
        run_id=run,
    )


# What the audit trail records of a mint (no secret is among them).
AUDIT_CLAIMS = {
    IssuerKind.GITHUB: (
        "repository",
        "repository_owner_id",
        "job_workflow_ref",
        "ref",
        "sha",
        "environment",
        "run_id",
        "run_attempt",
        "actor",
    ),
    IssuerKind.GITLAB: (
        "project_path",
        "ci_config_ref_uri",
        "ref_path",
        "sha",
        "environment",
        "pipeline_id",
        "job_id",
        "user_login",
    ),
    IssuerKind.OTHER: ("sub",),
}


def audit_claims(publisher: TrustedPublisher, claims: Mapping[str, Any]) -> dict[str, str]:
    names = AUDIT_CLAIMS[publisher.kind] + tuple(publisher.claims)
    return {n: str(claims[n])[:MAX_VALUE] for n in names if n in claims}
