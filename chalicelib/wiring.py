"""The only place AWS clients are created and services are assembled; tests swap them here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config

from .adapters.dynamo_audit import DynamoAuditLog
from .adapters.dynamo_catalog import DynamoCatalog
from .adapters.dynamo_filenames import DynamoFilenameRegistry
from .adapters.dynamo_pages import DynamoPageStore
from .adapters.dynamo_publishers import DynamoReplayGuard, DynamoTrustedPublisherStore
from .adapters.dynamo_reviews import DynamoReviewStore
from .adapters.dynamo_sessions import DynamoSessionRepository
from .adapters.dynamo_tokens import DynamoTokenStore
from .adapters.oidc_http import HttpIssuerDocuments
from .adapters.powertools_metrics import PowertoolsMetrics
from .adapters.s3_objects import S3ObjectStore
from .adapters.s3_staging import S3Staging
from .adapters.sqs_review_queue import NoReviewQueue, SqsReviewQueue
from .domain.clock import utcnow
from .domain.inspection.limits import Limits
from .domain.review import Decision, ReviewPolicy, parse_reviewers
from .services.attestation_verifier import AttestationVerifier
from .services.audit import AuditTrail
from .services.downloads import Downloads
from .services.file_uploads import FileUploads, UploadPolicy
from .services.index_reader import IndexReader
from .services.legacy import LegacyUploads
from .services.moderation import Moderation
from .services.pages import Pages, PagesPolicy
from .services.provenance import Provenances
from .services.publishing import Publisher, PublishPolicy
from .services.repair import Repair
from .services.reviews import ReviewConfig, Reviews
from .services.sessions import PublishingSessions, SessionPolicy
from .services.tokens import TokenService
from .services.trusted_publishing import IssuerKeys, OidcPolicy, TrustedPublishing
from .services.validation import Validator
from .settings import Settings, get_settings

if TYPE_CHECKING:
    from .domain.pages import PageStore
    from .domain.ports import (
        AuditLog,
        Catalog,
        Clock,
        FilenameRegistry,
        IssuerDocuments,
        Metrics,
        ObjectStore,
        ReplayGuard,
        ReviewQueue,
        ReviewStore,
        SessionRepository,
        StagingStorage,
        TokenStore,
        TrustedPublisherStore,
    )


@dataclass(frozen=True)
class AwsClients:
    s3: Any
    dynamodb: Any
    sqs: Any


def aws_clients(session: botocore.session.Session | None = None) -> AwsClients:
    """AWS clients for the current environment (``AWS_ENDPOINT_URL`` points them at moto).

    Made with botocore's session, which is what ``boto3.client`` wraps: importing boto3
    itself would add its resource layer and s3transfer to every cold start (~25 ms,
    ``python -m bench.package``), and wharf uses neither at start. Presigned S3 URLs must
    be SigV4, which botocore uses only when asked. A session passed in lends its loaded
    service models (tests build many clients; loading is the slow part).
    """
    session = session or botocore.session.get_session()
    retries = Config(retries={"mode": "standard", "max_attempts": 5})
    s3_config = retries.merge(Config(signature_version="s3v4"))
    return AwsClients(
        s3=session.create_client("s3", config=s3_config),
        dynamodb=session.create_client("dynamodb", config=retries),
        sqs=session.create_client("sqs", config=retries),
    )


@dataclass(frozen=True)
class Stores:
    """One implementation of every port: DynamoDB and S3 (``aws_stores``), or the in-memory
    fakes the service tests build (tests/fakes.py)."""

    sessions: SessionRepository
    filenames: FilenameRegistry
    catalog: Catalog
    tokens: TokenStore
    objects: ObjectStore
    staging: StagingStorage
    audit: AuditLog
    publishers: TrustedPublisherStore
    replay: ReplayGuard
    reviews: ReviewStore
    review_queue: ReviewQueue
    pages: PageStore


def aws_stores(settings: Settings, clients: AwsClients) -> Stores:
    dynamodb, table = clients.dynamodb, settings.table_name
    if parse_reviewers(settings.reviewers) and not settings.review_queue_url:
        # Fail at start-up, not on the first file that would be announced to nobody.
        raise ValueError("WHARF_REVIEWERS is set but WHARF_REVIEW_QUEUE_URL is not")
    return Stores(
        sessions=DynamoSessionRepository(dynamodb, table),
        filenames=DynamoFilenameRegistry(dynamodb, table),
        catalog=DynamoCatalog(dynamodb, table),
        tokens=DynamoTokenStore(dynamodb, table),
        objects=S3ObjectStore(clients.s3, settings.bucket_name),
        staging=S3Staging(
            clients.s3, settings.bucket_name, spool_limit=settings.validation_spool_bytes
        ),
        audit=DynamoAuditLog(dynamodb, table),
        publishers=DynamoTrustedPublisherStore(dynamodb, table),
        replay=DynamoReplayGuard(dynamodb, table),
        reviews=DynamoReviewStore(dynamodb, table),
        review_queue=(
            SqsReviewQueue(clients.sqs, settings.review_queue_url)
            if settings.review_queue_url
            else NoReviewQueue()
        ),
        pages=DynamoPageStore(dynamodb, table),
    )


@dataclass(frozen=True)
class Container:
    settings: Settings
    stores: Stores
    tokens: TokenService
    index: IndexReader
    sessions: PublishingSessions
    files: FileUploads
    validator: Validator
    publisher: Publisher
    downloads: Downloads
    moderation: Moderation
    legacy: LegacyUploads
    repair: Repair
    audit: AuditTrail
    trusted_publishing: TrustedPublishing
    provenance: Provenances
    reviews: Reviews
    pages: Pages
    metrics: Metrics


def audit_trail(settings: Settings, log: AuditLog, clock: Clock) -> AuditTrail:
    return AuditTrail(
        log,
        clock,
        retention=timedelta(days=settings.audit_retention_days),
        auth_bucket=timedelta(seconds=settings.auth_failure_bucket_seconds),
    )


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_members=settings.max_archive_members,
        max_uncompressed_bytes=settings.max_uncompressed_bytes,
        max_compression_ratio=settings.max_compression_ratio,
        ratio_floor_bytes=settings.compression_ratio_floor_bytes,
        max_metadata_bytes=settings.max_metadata_bytes,
        enforce_record=settings.enforce_record,
        allow_local_versions=settings.allow_local_versions,
    )


def review_config_of(settings: Settings) -> ReviewConfig:
    return ReviewConfig(
        reviewers=parse_reviewers(settings.reviewers),
        default_policy=ReviewPolicy(
            on_timeout=Decision(settings.review_on_timeout),
            timeout_seconds=settings.review_timeout_seconds,
        ),
        url_seconds=settings.review_url_seconds,
    )


def build(
    settings: Settings,
    clients: AwsClients | None = None,
    clock: Clock = utcnow,
    *,
    stores: Stores | None = None,
    issuer_documents: IssuerDocuments | None = None,
    sleep: Callable[[float], None] = time.sleep,
    metrics: Metrics | None = None,
) -> Container:
    """Assemble the services over AWS (``clients``) or over the given ``stores``; metrics
    go out as CloudWatch EMF lines unless another ``Metrics`` is given."""
    if metrics is None:
        metrics = PowertoolsMetrics(settings.metrics_namespace)
    if stores is None:
        assert clients is not None, "build needs AWS clients or stores"
        stores = aws_stores(settings, clients)
    retention = timedelta(seconds=settings.session_retention_seconds)
    audit = audit_trail(settings, stores.audit, clock)
    sessions = PublishingSessions(
        stores.sessions,
        stores.catalog,
        stores.filenames,
        stores.staging,
        clock,
        audit,
        SessionPolicy(
            lifetime=timedelta(seconds=settings.session_lifetime_seconds),
            max_lifetime=timedelta(seconds=settings.session_max_lifetime_seconds),
            retention=retention,
            allow_local_versions=settings.allow_local_versions,
        ),
    )
    pages = Pages(
        stores.pages,
        stores.catalog,
        stores.objects,
        stores.tokens,
        stores.sessions,
        stores.staging,
        clock,
        PagesPolicy(browser_session_lifetime=timedelta(seconds=settings.browser_session_seconds)),
    )
    publisher = Publisher(
        sessions,
        stores.sessions,
        stores.catalog,
        stores.filenames,
        stores.staging,
        stores.objects,
        clock,
        PublishPolicy(
            final_attempt=settings.publish_attempts,
            retention=retention,
            public_url=settings.public_url,
        ),
        audit,
        metrics,
        on_release=pages.release_published_safely,
    )
    provenance = Provenances(
        sessions,
        stores.sessions,
        stores.staging,
        stores.catalog,
        stores.objects,
        clock,
        AttestationVerifier(),
        allow_token_attestations=settings.allow_token_attestations,
    )
    tokens = TokenService(
        stores.tokens,
        clock,
        touch_seconds=settings.token_touch_seconds,
        retention_days=settings.token_retention_days,
        cache_seconds=settings.token_cache_seconds,
        audit=audit,
    )
    oidc = OidcPolicy(
        audience=settings.oidc_audience,
        token_lifetime=timedelta(seconds=settings.oidc_token_seconds),
    )
    reviews = Reviews(
        stores.sessions,
        stores.reviews,
        stores.review_queue,
        stores.objects,
        stores.staging,
        clock,
        review_config_of(settings),
    )
    validator = Validator(
        stores.sessions,
        stores.staging,
        stores.catalog,
        clock,
        limits_of(settings),
        audit=audit,
        provenance=provenance,
        reviews=reviews,
        metrics=metrics,
    )
    return Container(
        settings=settings,
        stores=stores,
        tokens=tokens,
        index=IndexReader(stores.objects, stores.catalog, settings.index_cache_bytes),
        sessions=sessions,
        files=FileUploads(
            sessions,
            stores.sessions,
            stores.catalog,
            stores.filenames,
            stores.staging,
            clock,
            UploadPolicy(
                inline_limit=settings.inline_limit_bytes,
                max_file_bytes=settings.max_file_bytes,
                part_url_seconds=settings.part_url_seconds,
                default_part_size=settings.default_part_size,
                allow_local_versions=settings.allow_local_versions,
            ),
            audit,
            metrics,
        ),
        validator=validator,
        publisher=publisher,
        downloads=Downloads(
            stores.catalog,
            stores.sessions,
            stores.objects,
            publisher,
            clock,
            expires=settings.download_url_seconds,
            cache_seconds=settings.read_cache_seconds,
        ),
        moderation=Moderation(stores.catalog, publisher, audit),
        legacy=LegacyUploads(
            sessions,
            stores.sessions,
            stores.catalog,
            stores.filenames,
            stores.staging,
            stores.objects,
            publisher,
            clock,
            inline_limit=settings.inline_limit_bytes,
            limits=limits_of(settings),
            audit=audit,
            provenance=provenance,
            reviews=reviews,
            review_wait=timedelta(seconds=settings.legacy_review_wait_seconds),
            sleep=sleep,
            metrics=metrics,
        ),
        repair=Repair(
            stores.sessions,
            stores.staging,
            validator,
            publisher,
            clock,
            grace=timedelta(seconds=settings.repair_after_seconds),
            metrics=metrics,
        ),
        audit=audit,
        trusted_publishing=TrustedPublishing(
            stores.publishers,
            stores.replay,
            tokens,
            IssuerKeys(issuer_documents or HttpIssuerDocuments(), clock, oidc),
            clock,
            oidc,
            audit,
        ),
        provenance=provenance,
        reviews=reviews,
        pages=pages,
        metrics=metrics,
    )


_lock = threading.Lock()
_current: Container | None = None


def container() -> Container:
    """The process's container, built on first use (a Lambda builds it once per sandbox)."""
    global _current
    with _lock:
        if _current is None:
            _current = build(get_settings(), aws_clients())
        return _current


def use(replacement: Container | None) -> None:
    """Install a container (tests), or ``None`` to build afresh on next use."""
    global _current
    with _lock:
        _current = replacement
