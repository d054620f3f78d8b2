"""The read path: the static simple index behind token authentication."""

from __future__ import annotations

from chalice import Blueprint, Response

from ..domain.errors import NotAcceptableError, PermissionDeniedError
from ..domain.negotiation import select_format
from ..wiring import container
from .auth import principal_of
from .http import original_path
from .problems import problem_responses

bp = Blueprint(__name__)

# Short enough that a new release shows within seconds for installers that honour
# max-age (pip >= 26.2), long enough to spare repeated resolver hits.
INDEX_CACHE_CONTROL = "private, max-age=10"


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


@bp.route("/simple", methods=["GET"])
@problem_responses
def root_index() -> Response:
    request = bp.current_request
    path = original_path(request)
    if not path.endswith("/"):
        return Response(body="", status_code=301, headers={"Location": path + "/"})
    principal = principal_of(request)
    if not principal.can_read_index():
        raise PermissionDeniedError(
            "This token cannot list the index; it may read only its own projects."
        )
    fmt = select_format(request.headers.get("accept"))
    if fmt is None:
        raise NotAcceptableError(
            "None of the accepted types is offered: ask for "
            "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html "
            "or text/html."
        )
    page = container().index.root(fmt)
    headers = {
        "Content-Type": fmt.content_type,
        "Vary": "Accept",
        "ETag": page.etag,
        "X-PyPI-Last-Serial": str(page.last_serial),
        "Cache-Control": INDEX_CACHE_CONTROL,
    }
    if _etag_matches(request.headers.get("if-none-match"), page.etag):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=page.body.decode("utf-8"), status_code=200, headers=headers)
