"""Downloads (302 to presigned S3 GETs; small core metadata inline) and stage previews."""

from __future__ import annotations

from urllib.parse import quote, unquote

from chalice import Blueprint, Response
from packaging.utils import canonicalize_name

from ..domain.index import (
    ProjectListing,
    RootIndex,
    render_project_html,
    render_project_json,
    render_root_html,
    render_root_json,
)
from ..services.downloads import Inline
from ..services.index_reader import page_of
from ..wiring import container
from .auth import principal_of
from .http import ALL_METHODS, ANY_CONTENT, method_of, original_path
from .problems import problem_responses
from .simple import index_response, negotiate

bp = Blueprint(__name__)


def _found(url: str) -> Response:
    # The presigned URL must not be cached beyond its own short life.
    return Response(
        body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store"}
    )


@bp.route("/files/{project}/{filename}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def published_file(project: str, filename: str) -> Response:
    method_of(bp.current_request, "GET")
    principal = principal_of(bp.current_request)
    name, filename = canonicalize_name(project), unquote(filename)
    found = container().downloads.published(principal, name, filename)
    if not filename.endswith(".metadata"):
        container().pages.count_download(name, filename)  # the pages' 30-day counts
    if isinstance(found, Inline):
        return _inline(found)
    return _found(found)


def _inline(found: Inline, cache: str = "private, max-age=300") -> Response:
    """Core metadata in the response (PEP 658). A published file's is immutable, as its
    filename is never reused; a staged file's is revalidated (``no-cache``), as the file
    can still be deleted and sent again."""
    headers: dict[str, str | list[str]] = {
        "ETag": found.etag,
        "Cache-Control": cache,
        # The uploader's text, served from wharf's own origin: never read as anything else.
        "X-Content-Type-Options": "nosniff",
    }
    if bp.current_request.headers.get("if-none-match") == found.etag:
        return Response(body="", status_code=304, headers=headers)
    return Response(
        body=found.body,
        status_code=200,
        headers={**headers, "Content-Type": "text/plain; charset=utf-8"},
    )


def _stage_link(project: str, filename: str) -> str:
    """From `<stage>/<project>/` to `<stage>/files/<file>`: no credentials needed."""
    return f"../files/{quote(filename)}"


@bp.route("/stage/{token}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def stage_root(token: str) -> Response:
    request = bp.current_request
    method_of(request, "GET")
    path = original_path(request)
    if not path.endswith("/"):
        return Response(body="", status_code=301, headers={"Location": path + "/"})
    project = container().downloads.stage_project(token)
    fmt = negotiate(request)
    root = RootIndex(projects=(ProjectListing(name=project),))
    body = render_root_json(root) if fmt.is_json else render_root_html(root)
    return index_response(request, page_of(body, 0), fmt)


@bp.route("/stage/{token}/{project}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def stage_project(token: str, project: str) -> Response:
    request = bp.current_request
    method_of(request, "GET")
    path = original_path(request)
    canonical = canonicalize_name(project)
    if project != canonical or not path.endswith("/"):
        prefix = "../" if path.endswith("/") else ""
        return Response(body="", status_code=301, headers={"Location": f"{prefix}{canonical}/"})
    fmt = negotiate(request)
    page = container().downloads.stage_page(token, canonical)
    render = render_project_json if fmt.is_json else render_project_html
    return index_response(request, page_of(render(page, _stage_link), page.last_serial), fmt)


@bp.route("/stage/{token}/files/{filename}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def stage_file(token: str, filename: str) -> Response:
    method_of(bp.current_request, "GET")
    found = container().downloads.staged(token, unquote(filename))
    return _inline(found, "private, no-cache") if isinstance(found, Inline) else _found(found)
