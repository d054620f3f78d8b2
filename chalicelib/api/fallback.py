"""Every path no other route claims: a 404 problem document.

API Gateway's own answer for an unknown path is a 403 whose message quotes the
request's ``Authorization`` header (credentials!), and chalice local copies it.
A greedy catch-all resource (``/{proxy+}``, which API Gateway consults only when
no more specific resource matches) and the root path keep every such request
inside wharf, where the answer never echoes a request header.
"""

from __future__ import annotations

from chalice import Blueprint, Chalice, Response

from ..domain.errors import NotFoundError
from .http import ALL_METHODS, ANY_CONTENT
from .problems import problem_responses
from .upload_http import upload_problems

bp = Blueprint(__name__)


def _not_found() -> Response:
    raise NotFoundError("There is nothing at this path.")


@upload_problems
def _upload_not_found() -> Response:
    raise NotFoundError("No such Upload 2.0 resource.")


@bp.route("/", methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def root() -> Response:
    # People who open the index's address in a browser land on the project list.
    if bp.current_request.method in ("GET", "HEAD"):
        return Response(body="", status_code=303, headers={"Location": "projects/"})
    return _not_found()


GREEDY = "/{proxy+}"


@bp.route(GREEDY, methods=ALL_METHODS, content_types=ANY_CONTENT)
@problem_responses
def anything_else(proxy: str = "") -> Response:
    # ``proxy`` is the path below the API's root (any stage prefix removed).
    if proxy.startswith("upload/"):
        return _upload_not_found()  # Upload 2.0 errors carry the API's meta (PEP 694)
    return _not_found()


def declare_greedy_parameter(app: Chalice) -> None:
    """Name the greedy route's path parameter, once the blueprint is registered.

    Chalice recognises only ``{word}`` parameters, so without this the deployed OpenAPI
    document would declare no ``proxy`` parameter for ``/{proxy+}`` (API Gateway wants
    one) and the view would never receive the matched path.
    """
    for entry in app.routes[GREEDY].values():
        entry.view_args = ["proxy"]
