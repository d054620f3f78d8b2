"""The CI identity behind a token minted by trusted publishing.

Shared by trusted publishing (which fills it in from the OIDC claims that
matched), attestation checks (the signer must be this identity), the audit
trail and the pages (which show where a release was published from).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict

from .model import WharfModel


class IssuerKind(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    OTHER = "other"


class PublisherIdentity(WharfModel):
    """Where a CI upload came from: enough to match a signer and to show a person."""

    model_config = ConfigDict(frozen=True)

    publisher_id: str  # the registered trusted publisher that matched
    kind: IssuerKind
    issuer: str  # the OIDC issuer URL
    repository: str  # GitHub "owner/repo"; GitLab project path
    workflow: str  # GitHub workflow file name; GitLab CI config path
    environment: str | None = None
    ref: str | None = None
    run_id: str | None = None  # the CI run, for the audit trail and links
