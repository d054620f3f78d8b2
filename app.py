"""wharf's Chalice app: registers blueprints, middleware and event handlers. No logic here."""

from __future__ import annotations

# isort: off
from chalicelib import coldstart  # first: no garbage collection while the app loads
# isort: on

from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent, SQSEvent

from chalicelib.api import (
    admin,
    fallback,
    files,
    legacy,
    middleware,
    oidc,
    pages,
    provenance,
    reviews,
    simple,
    upload,
)
from chalicelib.domain.layout import loggable_key
from chalicelib.events.storage import handle_staged_object, objects_created
from chalicelib.observability import logger
from chalicelib.provenance_layer import require_provenance_layer
from chalicelib.settings import get_settings
from chalicelib.wiring import container

app = Chalice(app_name="wharf")
app.register_blueprint(simple.bp)
app.register_blueprint(admin.bp)
app.register_blueprint(reviews.bp)
app.register_blueprint(upload.bp)
app.register_blueprint(files.bp)
app.register_blueprint(legacy.bp)
app.register_blueprint(oidc.bp)
app.register_blueprint(provenance.bp)
app.register_blueprint(pages.bp)
app.register_blueprint(fallback.bp)
fallback.declare_greedy_parameter(app)
middleware.register(app)
# twine and uv send files as multipart/form-data: API Gateway must pass it through as bytes.
app.api.binary_types.append("multipart/form-data")


@app.on_sqs_message(queue_arn=get_settings().queue_arn, batch_size=1)
def on_storage_event(event: SQSEvent) -> None:
    """S3 → SQS: a completed upload to validate, or a publish request to carry out."""
    require_provenance_layer()  # else nothing is done and SQS delivers the event again
    for created in objects_created(event.to_dict()):
        outcome = handle_staged_object(
            container(), created.key, created.size, attempt=created.attempt
        )
        logger.info(
            "staged object handled",
            extra={"key": loggable_key(created.key), "outcome": outcome},
        )


@app.schedule(Rate(5, unit=Rate.MINUTES))
def expire_sessions(event: CloudWatchEvent) -> None:
    """Cancel publishing sessions whose expiry passed (purge bytes, release reservations),
    and re-drive work a crashed Lambda left half done."""
    expired = container().sessions.expire_due()
    repaired = container().repair.run()
    reviews_timed_out = container().reviews.expire_due()
    # A sweep that found nothing is not news: logged at DEBUG only (make serve stays quiet).
    found = bool(expired or any(repaired.values()) or reviews_timed_out)
    log = logger.info if found else logger.debug
    log(
        "expired sessions swept",
        extra={"expired": expired, "repaired": repaired, "reviews_timed_out": reviews_timed_out},
    )


coldstart.loaded()
