"""wharf's Chalice app: registers blueprints, middleware and event handlers. No logic here."""

from __future__ import annotations

import time
import uuid
from typing import Any

from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent, SQSEvent

from chalicelib.api import (
    admin,
    fallback,
    files,
    legacy,
    oidc,
    pages,
    provenance,
    reviews,
    simple,
    upload,
)
from chalicelib.api.http import without_body_for_head
from chalicelib.domain.layout import loggable_key
from chalicelib.events.storage import attempt_of, handle_staged_object, objects_created
from chalicelib.observability import logger
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
# twine and uv send files as multipart/form-data: API Gateway must pass it through as bytes.
app.api.binary_types.append("multipart/form-data")


@app.middleware("http")
def log_requests(event: Any, get_response: Any) -> Any:
    """One JSON line per request, with the request id and (once known) the token id."""
    logger.thread_safe_clear_keys()
    # chalice local sends no request id; Lambda does.
    request_id = event.context.get("requestId") or uuid.uuid4().hex
    logger.thread_safe_append_keys(request_id=request_id)
    started = time.perf_counter()
    response = without_body_for_head(event.method, get_response(event))
    response.headers["X-Request-Id"] = request_id
    route = str(event.context.get("resourcePath") or "")
    details = {
        "method": event.method,
        "path": route,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    # Index and file paths name what was read; session and stage paths carry the session
    # token (a preview credential) and are logged by their route only.
    if route.startswith(("/simple", "/files")):
        details["request_path"] = event.context.get("path")
    logger.info("request", extra=details)
    logger.thread_safe_clear_keys()
    return response


@app.on_sqs_message(queue_arn=get_settings().queue_arn, batch_size=1)
def on_storage_event(event: SQSEvent) -> None:
    """S3 → SQS: a completed upload to validate, or a publish request to carry out."""
    raw = event.to_dict()
    attempt = max((attempt_of(r) for r in raw.get("Records", [])), default=1)
    for created in objects_created(raw):
        outcome = handle_staged_object(container(), created.key, created.size, attempt=attempt)
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
    logger.info(
        "expired sessions swept",
        extra={"expired": expired, "repaired": repaired, "reviews_timed_out": reviews_timed_out},
    )
