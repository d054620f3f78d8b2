"""What wraps every handler: Powertools' Lambda context, the correlation id, the request line
and the HTTP error metrics. ``register`` is the one call app.py makes."""

from __future__ import annotations

import time
import uuid
from typing import Any

from chalice import Chalice, ConvertToMiddleware

from ..observability import logger
from ..wiring import container
from .http import without_body_for_head


def observe_request(event: Any, get_response: Any) -> Any:
    """One JSON line per request; every line logged while it runs carries its correlation id
    (API Gateway's request id), which the response returns as ``X-Request-Id``."""
    logger.thread_safe_clear_keys()
    # chalice local sends no request id; API Gateway always does.
    correlation_id = event.context.get("requestId") or uuid.uuid4().hex
    # Per thread, not Powertools' ``correlation_id_path`` (a process-wide key): the local
    # stack serves requests on threads, and a line must never carry another request's id.
    logger.thread_safe_append_keys(correlation_id=correlation_id)
    started = time.perf_counter()
    try:
        response = without_body_for_head(event.method, get_response(event))
        response.headers["X-Request-Id"] = correlation_id
        route = str(event.context.get("resourcePath") or "")
        status = response.status_code
        details = {
            "method": event.method,
            "path": route,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        # Index and file paths name what was read; session and stage paths carry the session
        # token (a preview credential) and are logged by their route only.
        if route.startswith(("/simple", "/files")):
            details["request_path"] = event.context.get("path")
        logger.info("request", extra=details)
        if status >= 400:
            # The route pattern, never the path: a bounded set of dimension values.
            name = "ServerErrors" if status >= 500 else "ClientErrors"
            container().metrics.emit(name, dimensions={"route": route or "(none)"})
        return response
    finally:
        logger.thread_safe_clear_keys()


def register(app: Chalice) -> None:
    """Powertools' Logger gets the Lambda context of every handler (HTTP, SQS, schedule), as
    Chalice's middleware documentation shows; HTTP requests also get ``observe_request``."""
    app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)))
    app.register_middleware(observe_request, "http")
