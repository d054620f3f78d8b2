"""The only place AWS clients are created and services are assembled; tests swap them here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

import botocore.session
from botocore.config import Config

from .domain.clock import utcnow
from .domain.review import Decision, ReviewPolicy, parse_reviewers
from .settings import Settings, get_settings

if TYPE_CHECKING:
    from .domain.inspection.limits import Limits
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
    from .services.audit import AuditTrail
    from .services.downloads import Downloads
    from .services.file_uploads import FileUploads
    from .services.index_reader import IndexReader
    from .services.legacy import LegacyUploads
    from .services.moderation import Moderation
    from .services.pages import Pages
    from .services.provenance import Provenances
    from .services.publishing import Publisher
    from .services.repair import Repair
    from .services.reviews import ReviewConfig, Reviews
    from .services.sessions import PublishingSessions
    from .services.tokens import TokenService
    from .services.trusted_publishing import TrustedPublishing
    from .services.validation import Validator

T = TypeVar("T")


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


class Stores(Protocol):
    """One implementation of every port: DynamoDB, S3 and SQS (``AwsStores``), or stores
    made beforehand and given to ``build`` (``GivenStores``: the tests' in-memory fakes)."""

    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def filenames(self) -> FilenameRegistry: ...
    @property
    def catalog(self) -> Catalog: ...
    @property
    def tokens(self) -> TokenStore: ...
    @property
    def objects(self) -> ObjectStore: ...
    @property
    def staging(self) -> StagingStorage: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def publishers(self) -> TrustedPublisherStore: ...
    @property
    def replay(self) -> ReplayGuard: ...
    @property
    def reviews(self) -> ReviewStore: ...
    @property
    def review_queue(self) -> ReviewQueue: ...
    @property
    def pages(self) -> PageStore: ...


@dataclass(frozen=True)
class GivenStores:
    """Stores made beforehand (tests/fakes.py), given to ``build``."""

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


class once(Generic[T]):
    """An attribute made on its first read, once per instance (which holds the
    ``_building`` lock).

    ``functools.cached_property`` would do, but since Python 3.12 it no longer locks, and
    the local stack serves requests on threads: two of them must not build two publishers.
    After the first read the value sits in the instance's ``__dict__``, which Python reads
    before a non-data descriptor, so later reads take no lock.
    """

    def __init__(self, build: Callable[[Any], T]) -> None:
        self._build = build
        self._name = build.__name__

    @overload
    def __get__(self, instance: None, owner: type) -> once[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object, owner: type) -> once[T] | T:
        if instance is None:
            return self
        made = instance.__dict__
        with getattr(instance, "_building"):  # noqa: B009 - every owner has one
            if self._name not in made:
                made[self._name] = self._build(instance)
        value: T = made[self._name]
        return value


class AwsStores:
    """The ports over DynamoDB, S3 and SQS, each adapter imported and made on first use
    (an install's sandbox never loads the reviews' or trusted publishers' adapters)."""

    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        if parse_reviewers(settings.reviewers) and not settings.review_queue_url:
            # Fail at start-up, not on the first file that would be announced to nobody.
            raise ValueError("WHARF_REVIEWERS is set but WHARF_REVIEW_QUEUE_URL is not")
        self._settings, self._clients = settings, clients
        self._table = settings.table_name
        self._building = threading.RLock()

    @once
    def sessions(self) -> SessionRepository:
        from .adapters.dynamo_sessions import DynamoSessionRepository

        return DynamoSessionRepository(self._clients.dynamodb, self._table)

    @once
    def filenames(self) -> FilenameRegistry:
        from .adapters.dynamo_filenames import DynamoFilenameRegistry

        return DynamoFilenameRegistry(self._clients.dynamodb, self._table)

    @once
    def catalog(self) -> Catalog:
        from .adapters.dynamo_catalog import DynamoCatalog

        return DynamoCatalog(self._clients.dynamodb, self._table)

    @once
    def tokens(self) -> TokenStore:
        from .adapters.dynamo_tokens import DynamoTokenStore

        return DynamoTokenStore(self._clients.dynamodb, self._table)

    @once
    def objects(self) -> ObjectStore:
        from .adapters.s3_objects import S3ObjectStore

        return S3ObjectStore(self._clients.s3, self._settings.bucket_name)

    @once
    def staging(self) -> StagingStorage:
        from .adapters.s3_staging import S3Staging

        return S3Staging(
            self._clients.s3,
            self._settings.bucket_name,
            spool_limit=self._settings.validation_spool_bytes,
        )

    @once
    def audit(self) -> AuditLog:
        from .adapters.dynamo_audit import DynamoAuditLog

        return DynamoAuditLog(self._clients.dynamodb, self._table)

    @once
    def publishers(self) -> TrustedPublisherStore:
        from .adapters.dynamo_publishers import DynamoTrustedPublisherStore

        return DynamoTrustedPublisherStore(self._clients.dynamodb, self._table)

    @once
    def replay(self) -> ReplayGuard:
        from .adapters.dynamo_publishers import DynamoReplayGuard

        return DynamoReplayGuard(self._clients.dynamodb, self._table)

    @once
    def reviews(self) -> ReviewStore:
        from .adapters.dynamo_reviews import DynamoReviewStore

        return DynamoReviewStore(self._clients.dynamodb, self._table)

    @once
    def review_queue(self) -> ReviewQueue:
        from .adapters.sqs_review_queue import NoReviewQueue, SqsReviewQueue

        url = self._settings.review_queue_url
        return SqsReviewQueue(self._clients.sqs, url) if url else NoReviewQueue()

    @once
    def pages(self) -> PageStore:
        from .adapters.dynamo_pages import DynamoPageStore

        return DynamoPageStore(self._clients.dynamodb, self._table)


class Container:
    """wharf's services over one set of stores, each built (and its module imported) on
    first use.

    A Lambda sandbox imports only what its requests need: an install never imports
    reviews, trusted publishing, uploads or the validator (``python -m bench.package``
    times ``import app`` and an install's sandbox).
    """

    def __init__(
        self,
        settings: Settings,
        stores: Stores,
        clock: Clock,
        *,
        issuer_documents: IssuerDocuments | None,
        sleep: Callable[[float], None],
        metrics: Metrics | None,
    ) -> None:
        self.settings = settings
        self.stores = stores
        self._clock = clock
        self._issuer_documents = issuer_documents
        self._sleep = sleep
        self._metrics = metrics
        self._building = threading.RLock()  # re-entered: a service builds the ones it needs

    @once
    def metrics(self) -> Metrics:
        if self._metrics is not None:
            return self._metrics
        from .adapters.powertools_metrics import PowertoolsMetrics

        return PowertoolsMetrics(self.settings.metrics_namespace)

    @once
    def audit(self) -> AuditTrail:
        return audit_trail(self.settings, self.stores.audit, self._clock)

    @once
    def sessions(self) -> PublishingSessions:
        from .services.sessions import PublishingSessions, SessionPolicy

        settings = self.settings
        return PublishingSessions(
            self.stores.sessions,
            self.stores.catalog,
            self.stores.filenames,
            self.stores.staging,
            self._clock,
            self.audit,
            SessionPolicy(
                lifetime=timedelta(seconds=settings.session_lifetime_seconds),
                max_lifetime=timedelta(seconds=settings.session_max_lifetime_seconds),
                retention=timedelta(seconds=settings.session_retention_seconds),
                allow_local_versions=settings.allow_local_versions,
            ),
        )

    @once
    def pages(self) -> Pages:
        from .services.pages import Pages, PagesPolicy

        stores = self.stores
        return Pages(
            stores.pages,
            stores.catalog,
            stores.objects,
            stores.tokens,
            stores.sessions,
            stores.staging,
            self._clock,
            PagesPolicy(
                browser_session_lifetime=timedelta(seconds=self.settings.browser_session_seconds)
            ),
        )

    @once
    def publisher(self) -> Publisher:
        from .services.publishing import Publisher, PublishPolicy

        stores, settings = self.stores, self.settings
        return Publisher(
            self.sessions,
            stores.sessions,
            stores.catalog,
            stores.filenames,
            stores.staging,
            stores.objects,
            self._clock,
            PublishPolicy(
                final_attempt=settings.publish_attempts,
                retention=timedelta(seconds=settings.session_retention_seconds),
                public_url=settings.public_url,
            ),
            self.audit,
            self.metrics,
            on_release=self.pages.release_published_safely,
        )

    @once
    def provenance(self) -> Provenances:
        from .services.attestation_verifier import AttestationVerifier
        from .services.provenance import Provenances

        stores = self.stores
        return Provenances(
            self.sessions,
            stores.sessions,
            stores.staging,
            stores.catalog,
            stores.objects,
            self._clock,
            AttestationVerifier(),
            allow_token_attestations=self.settings.allow_token_attestations,
        )

    @once
    def tokens(self) -> TokenService:
        from .services.tokens import TokenService

        settings = self.settings
        return TokenService(
            self.stores.tokens,
            self._clock,
            touch_seconds=settings.token_touch_seconds,
            retention_days=settings.token_retention_days,
            cache_seconds=settings.token_cache_seconds,
            audit=self.audit,
        )

    @once
    def reviews(self) -> Reviews:
        from .services.reviews import Reviews

        stores = self.stores
        return Reviews(
            stores.sessions,
            stores.reviews,
            stores.review_queue,
            stores.objects,
            stores.staging,
            self._clock,
            review_config_of(self.settings),
        )

    @once
    def validator(self) -> Validator:
        from .services.validation import Validator

        return Validator(
            self.stores.sessions,
            self.stores.staging,
            self.stores.catalog,
            self._clock,
            limits_of(self.settings),
            audit=self.audit,
            provenance=self.provenance,
            reviews=self.reviews,
            metrics=self.metrics,
        )

    @once
    def index(self) -> IndexReader:
        from .services.index_reader import IndexReader

        return IndexReader(
            self.stores.objects, self.stores.catalog, self.settings.index_cache_bytes
        )

    @once
    def files(self) -> FileUploads:
        from .services.file_uploads import FileUploads, UploadPolicy

        stores, settings = self.stores, self.settings
        return FileUploads(
            self.sessions,
            stores.sessions,
            stores.catalog,
            stores.filenames,
            stores.staging,
            self._clock,
            UploadPolicy(
                inline_limit=settings.inline_limit_bytes,
                max_file_bytes=settings.max_file_bytes,
                part_url_seconds=settings.part_url_seconds,
                default_part_size=settings.default_part_size,
                allow_local_versions=settings.allow_local_versions,
            ),
            self.audit,
            self.metrics,
        )

    @once
    def downloads(self) -> Downloads:
        from .services.downloads import Downloads

        return Downloads(
            self.stores.catalog,
            self.stores.sessions,
            self.stores.objects,
            self.publisher,
            self._clock,
            expires=self.settings.download_url_seconds,
            cache_seconds=self.settings.read_cache_seconds,
        )

    @once
    def moderation(self) -> Moderation:
        from .services.moderation import Moderation

        return Moderation(self.stores.catalog, self.publisher, self.audit)

    @once
    def legacy(self) -> LegacyUploads:
        from .services.legacy import LegacyUploads

        stores, settings = self.stores, self.settings
        return LegacyUploads(
            self.sessions,
            stores.sessions,
            stores.catalog,
            stores.filenames,
            stores.staging,
            stores.objects,
            self.publisher,
            self._clock,
            inline_limit=settings.inline_limit_bytes,
            limits=limits_of(settings),
            audit=self.audit,
            provenance=self.provenance,
            reviews=self.reviews,
            review_wait=timedelta(seconds=settings.legacy_review_wait_seconds),
            sleep=self._sleep,
            metrics=self.metrics,
        )

    @once
    def repair(self) -> Repair:
        from .services.repair import Repair

        return Repair(
            self.stores.sessions,
            self.stores.staging,
            self.validator,
            self.publisher,
            self._clock,
            grace=timedelta(seconds=self.settings.repair_after_seconds),
            metrics=self.metrics,
        )

    @once
    def trusted_publishing(self) -> TrustedPublishing:
        from .adapters.oidc_http import HttpIssuerDocuments
        from .services.trusted_publishing import IssuerKeys, OidcPolicy, TrustedPublishing

        settings = self.settings
        oidc = OidcPolicy(
            audience=settings.oidc_audience,
            token_lifetime=timedelta(seconds=settings.oidc_token_seconds),
        )
        documents = self._issuer_documents or HttpIssuerDocuments()
        return TrustedPublishing(
            self.stores.publishers,
            self.stores.replay,
            self.tokens,
            IssuerKeys(documents, self._clock, oidc),
            self._clock,
            oidc,
            self.audit,
        )


def audit_trail(settings: Settings, log: AuditLog, clock: Clock) -> AuditTrail:
    from .services.audit import AuditTrail

    return AuditTrail(
        log,
        clock,
        retention=timedelta(days=settings.audit_retention_days),
        auth_bucket=timedelta(seconds=settings.auth_failure_bucket_seconds),
    )


def limits_of(settings: Settings) -> Limits:
    from .domain.inspection.limits import Limits

    return Limits(
        max_members=settings.max_archive_members,
        max_uncompressed_bytes=settings.max_uncompressed_bytes,
        max_compression_ratio=settings.max_compression_ratio,
        ratio_floor_bytes=settings.compression_ratio_floor_bytes,
        max_metadata_bytes=settings.max_metadata_bytes,
        enforce_record=settings.enforce_record,
        allow_local_versions=settings.allow_local_versions,
    )


def review_policy_of(settings: Settings) -> ReviewPolicy:
    return ReviewPolicy(
        on_timeout=Decision(settings.review_on_timeout),
        timeout_seconds=settings.review_timeout_seconds,
    )


def review_config_of(settings: Settings) -> ReviewConfig:
    from .services.reviews import ReviewConfig

    return ReviewConfig(
        reviewers=parse_reviewers(settings.reviewers),
        default_policy=review_policy_of(settings),
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
    """The services over AWS (``clients``) or over the given ``stores``; metrics go out as
    CloudWatch EMF lines unless another ``Metrics`` is given. The services are built on
    first use; the review settings, which no field check of ``Settings`` covers, are
    checked here, at start-up."""
    if stores is None:
        assert clients is not None, "build needs AWS clients or stores"
        stores = AwsStores(settings, clients)
    parse_reviewers(settings.reviewers)  # what the reviews' service reads, checked now
    review_policy_of(settings)
    return Container(
        settings,
        stores,
        clock,
        issuer_documents=issuer_documents,
        sleep=sleep,
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
