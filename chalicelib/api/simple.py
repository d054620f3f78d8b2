"""The read path: the static simple index behind token authentication."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from packaging.utils import canonicalize_name

from ..domain.errors import NotAcceptableError, NotFoundError, PermissionDeniedError
from ..domain.negotiation import IndexFormat, select_format
from ..wiring import container
from .auth import principal_of
from .http import ALL_METHODS, ANY_CONTENT, method_of, original_path
from .problems import problem_responses

if TYPE_CHECKING:
    from chalice.app import Request

    from ..services.index_reader import IndexPage

bp = Blueprint(__name__)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def negotiate(request: Request) -> IndexFormat:
    fmt = select_format(request.headers.get("accept"))
    if fmt is None:
        raise NotAcceptableError(
            "None of the accepted types is offered: ask for "
            "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html "
            "or text/html."
        )
    return fmt


def index_response(request: Request, page: IndexPage, fmt: IndexFormat) -> Response:
    """A page with the headers installers and caches rely on; 304 on a matching ETag."""
    # Short enough that a new release shows within seconds for installers that honour
    # max-age (pip >= 26.2); private because every page sits behind a token.
    max_age = container().settings.index_max_age_seconds
    headers: dict[str, str | list[str]] = {
        "Content-Type": fmt.content_type,
        "Vary": "Accept",
        "ETag": page.etag,
        "X-PyPI-Last-Serial": str(page.last_serial),
        "Cache-Control": f"private, max-age={max_age}",
    }
    if _etag_matches(request.headers.get("if-none-match"), page.etag):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=page.body.decode("utf-8"), status_code=200, headers=headers)


def _redirect(location: str) -> Response:
    return Response(body="", status_code=301, headers={"Location": location})


@bp.route("/simple", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def root_index() -> Response:
    request = bp.current_request
    method_of(request, "GET")
    path = original_path(request)
    if not path.endswith("/"):
        return _redirect(path + "/")
    principal = principal_of(request)
    if not principal.can_read_index():
        raise PermissionDeniedError(
            "This token cannot list the index; it may read only its own projects."
        )
    fmt = negotiate(request)
    return index_response(request, container().index.root(fmt), fmt)


@bp.route("/simple/{project}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def project_index(project: str) -> Response:
    request = bp.current_request
    method_of(request, "GET")
    path = original_path(request)
    canonical = canonicalize_name(project)
    if project != canonical:
        # Relative, so it works under any host or stage prefix.
        prefix = "../" if path.endswith("/") else ""
        return _redirect(f"{prefix}{canonical}/")
    if not path.endswith("/"):
        return _redirect(path + "/")
    principal = principal_of(request)
    fmt = negotiate(request)
    # A project the caller may not read is as unknown as one that does not exist:
    # 404, never 403 (poetry gives up on 403) and never a fallback to another index.
    page = container().index.project(canonical, fmt) if principal.can_read(canonical) else None
    if page is None:
        raise NotFoundError(f"No project named {canonical!r} on this index.")
    return index_response(request, page, fmt)
