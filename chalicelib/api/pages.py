"""The people's pages beside the index: /projects/, /project/<name>/[<version>/], sign-in,
and the admin pages under /manage/. /simple/ is untouched.

A browser signs in by pasting a token once; it then holds only a random session id in an
``HttpOnly``, ``SameSite=Strict`` (and, off the local stack, ``Secure``) cookie, stored
hashed in DynamoDB. Every state-changing form carries the session's CSRF token, and a
request whose Origin is another site is refused. Read pages also accept the API's
Authorization header (no state changes ride on it).
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from chalice import Blueprint, Response
from packaging.utils import InvalidName, canonicalize_name
from pydantic import ValidationError

from ..domain.audit import AuditQuery
from ..domain.catalog import ProjectStatus
from ..domain.credentials import secret_from_authorization
from ..domain.errors import (
    AuthenticationError,
    ConflictError,
    MethodNotAllowedError,
    NotFoundError,
    PermissionDeniedError,
    WharfError,
)
from ..domain.pages import BrowserSession, PublishedBy, new_csrf_token
from ..domain.provenance import published_from
from ..domain.tokens import Principal, TokenRequest
from ..wiring import container
from .http import ALL_METHODS, ANY_CONTENT, body_bytes, method_of, original_path
from .upload_http import base_url

if TYPE_CHECKING:
    from chalice.app import Request
    from jinja2 import Environment

    from ..services.tokens import IssuedToken

bp = Blueprint(__name__)

HERE = Path(__file__).resolve().parent.parent
STATIC = {
    "wharf.css": "text/css; charset=utf-8",
    "wharf.js": "text/javascript; charset=utf-8",
}
MAX_FORM_BYTES = 16 * 1024
SIGNIN_COOKIE = "wharf_signin"
# No inline script or style anywhere; README images may only come from this host (a
# private index has no image proxy, and a tracking pixel would leak who reads what).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# Hook points for pages built on other branches (trusted publishers, the audit trail):
# each adds (label, path) here when its module exists; the nav shows only what is present.
ADMIN_NAV: list[dict[str, str]] = [
    {"path": "manage/publishers", "label": "Trusted publishers"},
    {"path": "manage/audit", "label": "Audit trail"},
]


def _when(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _day(value: str) -> str:
    return value[:10]


def _filesize(size: int) -> str:
    amount = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{int(amount)} {unit}" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} bytes"


def _published_by(who: PublishedBy) -> str:
    text = f"token {who.token_id}"
    if who.description:
        text += f" ({who.description})"
    if who.publisher is not None:
        text += f", trusted publisher {who.publisher.repository} ({who.publisher.workflow})"
    return text


@functools.cache
def _environment() -> Environment:
    """The templates, made on the first page served: jinja2 costs ~20 ms and ~250 KB of
    bytecode that an API cold start does not need (wharf_stack/lambda_package.py)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        auto_reload=False,
    )
    env.filters.update(when=_when, day=_day, filesize=_filesize)
    env.globals.update(
        published_by=_published_by, published_from=published_from, admin_nav=ADMIN_NAV
    )
    return env


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a principal, and its browser session with the cookie's value (none
    when the request authenticated with an Authorization header)."""

    principal: Principal
    session: BrowserSession | None = None
    session_id: str | None = None

    @property
    def csrf(self) -> str | None:
        return self.session.csrf if self.session else None


class _SignInNeeded(Exception):
    pass


def _base(request: Request) -> str:
    """A relative prefix from this page to the app's root: pages work under any host or
    stage prefix (as the index's links do)."""
    depth = original_path(request).count("/") - 1
    return "../" * depth if depth > 0 else "./"


def _secure() -> bool:
    return container().settings.secure_cookies


def _cookie_name() -> str:
    # The __Host- prefix pins the cookie to this host and path /, but needs Secure.
    return "__Host-wharf" if _secure() else "wharf_session"


def _cookies(request: Request) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(request.headers.get("cookie") or "")
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def _set_cookie(name: str, value: str, max_age: int) -> str:
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
    if _secure():
        parts.append("Secure")
    return "; ".join(parts)


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("viewer", None)
    body = _environment().get_template(template).render(base=_base(request), **context)
    return Response(
        body=body,
        status_code=status,
        headers={"Content-Type": "text/html; charset=utf-8", **SECURITY_HEADERS},
    )


def _redirect(location: str, *, cookie: str | None = None) -> Response:
    headers: dict[str, str | list[str]] = {"Location": location, **SECURITY_HEADERS}
    if cookie:
        headers["Set-Cookie"] = cookie
    return Response(body="", status_code=303, headers=headers)


def _viewer(request: Request) -> Viewer:
    session_id = _cookies(request).get(_cookie_name())
    if session_id:
        try:
            signed = container().pages.signed_in(session_id)
            return Viewer(signed.principal, signed.session, session_id)
        except AuthenticationError:
            raise _SignInNeeded from None
    if request.headers.get("authorization"):
        secret = secret_from_authorization(request.headers.get("authorization"))
        return Viewer(container().tokens.authenticate(secret))
    raise _SignInNeeded


def _same_origin(request: Request) -> bool:
    """Browsers send Origin on every POST; one naming another host is a cross-site form."""
    origin = request.headers.get("origin")
    if not origin:
        return True
    return bool(urlsplit(origin).netloc == request.headers.get("host"))


def _params(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in (request.query_params or {}).items()}


def _form(request: Request) -> dict[str, str]:
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    raw = body_bytes(request)
    if len(raw) > MAX_FORM_BYTES:
        return {}
    fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


def _posted_viewer(request: Request) -> tuple[Viewer, dict[str, str]]:
    """A state-changing request: a browser session, same origin, and its CSRF token."""
    form = _form(request)
    viewer = _viewer(request)
    if (
        viewer.session is None
        or not _same_origin(request)
        or not container().pages.csrf_ok(viewer.session, form.get("csrf"))
    ):
        raise PermissionDeniedError(
            "This form was not sent from a wharf page (its CSRF token is missing or wrong); "
            "reload the page and try again."
        )
    return viewer, form


def page_view(func: Callable[..., Response]) -> Callable[..., Response]:
    """Errors as pages: sign-in needed → the sign-in page; 403/404/409 as HTML."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        request = bp.current_request
        try:
            return func(*args, **kwargs)
        except _SignInNeeded:
            return _redirect(_base(request) + "signin")
        except AuthenticationError as error:
            return render(request, "error.html", 401, heading="Not signed in", message=str(error))
        except PermissionDeniedError as error:
            return render(request, "error.html", 403, heading="Not allowed", message=str(error))
        except NotFoundError as error:
            return render(request, "error.html", 404, heading="Not found", message=str(error))
        except MethodNotAllowedError as error:
            response = render(
                request, "error.html", 405, heading="Method not allowed", message=str(error)
            )
            response.headers.update(getattr(error, "headers", {}))
            return response
        except ConflictError as error:
            return render(request, "error.html", 409, heading="Conflict", message=str(error))
        except WharfError as error:
            return render(request, "error.html", 400, heading="Refused", message=str(error))

    return wrapper


def _canonical(name: str) -> str:
    try:
        return canonicalize_name(name, validate=True)
    except InvalidName:
        raise NotFoundError("There is no project by that name.") from None


# --- static files -----------------------------------------------------------------------------


@bp.route("/static/{name}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def static_file(name: str) -> Response:
    method_of(bp.current_request, "GET")
    if name not in STATIC:
        raise NotFoundError("No such file.")
    body = (HERE / "static" / name).read_text(encoding="utf-8")
    headers: dict[str, str | list[str]] = {**SECURITY_HEADERS, "Content-Type": STATIC[name]}
    headers["Cache-Control"] = "public, max-age=300"
    return Response(body=body, status_code=200, headers=headers)


# --- signing in and out -----------------------------------------------------------------------


@bp.route("/signin", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def signin() -> Response:
    request = bp.current_request
    method = method_of(request, "GET", "POST")
    hours = container().settings.browser_session_seconds // 3600
    if method == "GET":
        # Double-submit token for the sign-in form (there is no session to hold one yet):
        # another site can neither read this cookie nor set it.
        csrf = new_csrf_token()
        response = render(request, "signin.html", csrf=csrf, hours=hours)
        response.headers["Set-Cookie"] = _set_cookie(SIGNIN_COOKIE, csrf, 600)
        return response
    form = _form(request)
    expected = _cookies(request).get(SIGNIN_COOKIE)
    presented = form.get("csrf") or ""
    if not _same_origin(request) or not expected or not hmac.compare_digest(presented, expected):
        raise PermissionDeniedError("The sign-in form was not sent from this site; reload it.")
    secret = form.get("token", "").strip()
    try:
        principal = container().tokens.authenticate(secret) if secret else None
    except AuthenticationError:
        principal = None
    if principal is None:
        return render(
            request,
            "signin.html",
            401,
            csrf=expected,
            hours=hours,
            error="That token is not valid (unknown, expired or revoked).",
        )
    session_id, _ = container().pages.sign_in(principal, secret)
    cookie = _set_cookie(_cookie_name(), session_id, container().settings.browser_session_seconds)
    return _redirect(_base(request) + "projects/", cookie=cookie)


@bp.route("/signout", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def signout() -> Response:
    request = bp.current_request
    method_of(request, "POST")
    viewer, _ = _posted_viewer(request)
    container().pages.sign_out(viewer.session_id or "")
    return _redirect(_base(request) + "signin", cookie=_set_cookie(_cookie_name(), "", 0))


# --- reading ----------------------------------------------------------------------------------


@bp.route("/projects", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def projects() -> Response:
    request = bp.current_request
    method_of(request, "GET")
    if not original_path(request).endswith("/"):
        return _redirect(original_path(request) + "/")
    viewer = _viewer(request)
    query = (_params(request).get("q") or "")[:200]
    rows = container().pages.project_rows(viewer.principal, query)
    return render(request, "projects.html", viewer=viewer, rows=rows, query=query)


def _install_command(request: Request, project: str) -> str:
    base = base_url(request, container().settings)
    scheme, _, rest = base.partition("://")
    return f'pip install --index-url "{scheme}://__token__:$WHARF_TOKEN@{rest}/simple/" {project}'


def _project_page(name: str, version: str | None) -> Response:
    request = bp.current_request
    method_of(request, "GET")
    path = original_path(request)
    canonical = _canonical(name)
    if name != canonical or not path.endswith("/"):
        tail = f"{quote(version)}/" if version else ""
        return _redirect(f"{_base(request)}project/{canonical}/{tail}")
    viewer = _viewer(request)
    view = container().pages.project(viewer.principal, canonical, version)
    from ..services.pages import status_choices  # with the pages' service, on first use

    return render(
        request,
        "project.html",
        viewer=viewer,
        view=view,
        install_command=_install_command(request, canonical),
        statuses=status_choices(),
    )


@bp.route("/project/{name}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def project(name: str) -> Response:
    return _project_page(name, None)


@bp.route("/project/{name}/{version}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def project_version(name: str, version: str) -> Response:
    return _project_page(name, version)


@bp.route("/project/{name}/files/{filename}", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def download(name: str, filename: str) -> Response:
    """A download for a signed-in browser (the /files/ route wants an Authorization header)."""
    request = bp.current_request
    method_of(request, "GET")
    viewer = _viewer(request)
    canonical, filename = _canonical(name), unquote(filename)
    url = container().downloads.published(viewer.principal, canonical, filename)
    if not isinstance(url, str):  # inline .metadata: the file route serves it
        raise NotFoundError("Open the file itself; its metadata is served by /files.")
    container().pages.count_download(canonical, filename)
    return Response(
        body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store"}
    )


# --- admin ------------------------------------------------------------------------------------


def _admin(viewer: Viewer) -> None:
    if not viewer.principal.is_admin:
        raise PermissionDeniedError("Only an admin token may use this page.")


def _admin_form(request: Request) -> tuple[Viewer, dict[str, str]]:
    """An admin page's POST: its signed-in admin (CSRF checked) and the form."""
    method_of(request, "POST")
    viewer, form = _posted_viewer(request)
    _admin(viewer)
    return viewer, form


def _tokens_page(viewer: Viewer, issued: IssuedToken | None = None, error: str = "") -> Response:
    request = bp.current_request
    tokens = container().tokens.list()
    status = 400 if error else (201 if issued else 200)
    return render(
        request, "tokens.html", status, viewer=viewer, tokens=tokens, issued=issued, error=error
    )


@bp.route("/manage/tokens", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def manage_tokens() -> Response:
    request = bp.current_request
    method = method_of(request, "GET", "POST")
    if method == "GET":
        viewer = _viewer(request)
        _admin(viewer)
        return _tokens_page(viewer)
    viewer, form = _posted_viewer(request)
    _admin(viewer)
    try:
        token_request = TokenRequest(
            role=form.get("role", ""),
            projects=form.get("projects", "").replace(",", " ").split(),
            description=form.get("description", ""),
            expires_days=int(form["expires_days"]) if form.get("expires_days") else None,
            # Unchecked: an upload token that stages but may not publish (release managers
            # publish); only upload tokens show the choice.
            publish=form.get("role") != "upload" or form.get("publish") == "yes",
        )
    except ValidationError as invalid:
        message = "; ".join(
            str(e.get("msg", "")).removeprefix("Value error, ") for e in invalid.errors()
        )
        return _tokens_page(viewer, error=f"The token was not created: {message}.")
    except ValueError:
        message = "the expiry must be a number of days"
        return _tokens_page(viewer, error=f"The token was not created: {message}.")
    return _tokens_page(viewer, issued=container().tokens.issue(token_request, by=viewer.principal))


@bp.route("/manage/tokens/{token_id}/revoke", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def manage_revoke(token_id: str) -> Response:
    request = bp.current_request
    viewer, _ = _admin_form(request)
    container().tokens.revoke(token_id, by=viewer.principal)
    return _redirect(_base(request) + "manage/tokens")


@bp.route("/manage/publishers", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def manage_publishers() -> Response:
    """The trusted publishers, with a remove button each (register them with `wharf
    publisher add` or the admin API: their claims want the care of a written command)."""
    request = bp.current_request
    method_of(request, "GET")
    viewer = _viewer(request)
    _admin(viewer)
    publishers = container().trusted_publishing.list()
    return render(request, "publishers.html", viewer=viewer, publishers=publishers)


@bp.route(
    "/manage/publishers/{publisher_id}/remove", methods=ALL_METHODS, content_types=ANY_CONTENT
)
@page_view
def manage_remove_publisher(publisher_id: str) -> Response:
    request = bp.current_request
    viewer, _ = _admin_form(request)
    container().trusted_publishing.remove(publisher_id, by=viewer.principal)
    return _redirect(_base(request) + "manage/publishers")


@bp.route("/manage/audit", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def manage_audit() -> Response:
    """The audit trail, newest first, a page at a time, filtered by project or actor."""
    request = bp.current_request
    method_of(request, "GET")
    viewer = _viewer(request)
    _admin(viewer)
    params = _params(request)
    project = params.get("project", "").strip()[:200] or None
    actor = params.get("actor", "").strip()[:200] or None
    query = AuditQuery(
        project=canonicalize_name(project) if project else None, actor=actor, limit=100
    )
    page = container().audit.page(query, params.get("cursor") or None)
    return render(
        request,
        "audit.html",
        viewer=viewer,
        events=page.events,
        cursor=page.cursor,
        project=project or "",
        actor=actor or "",
    )


@bp.route("/manage/sessions", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def manage_sessions() -> Response:
    request = bp.current_request
    method_of(request, "GET")
    viewer = _viewer(request)
    _admin(viewer)
    sessions = container().pages.sessions_in_progress(viewer.principal)
    fragment = _params(request).get("fragment")
    template = "sessions_table.html" if fragment else "sessions.html"
    return render(request, template, viewer=viewer, sessions=sessions)


@bp.route("/manage/projects/{name}/yank", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def manage_yank(name: str) -> Response:
    request = bp.current_request
    viewer, form = _admin_form(request)
    canonical = _canonical(name)
    version = form.get("version", "")
    yanked = form.get("action") != "unyank"
    reason = form.get("reason", "")[:500]
    container().moderation.yank(canonical, version, reason, yanked=yanked, by=viewer.principal)
    return _redirect(f"{_base(request)}project/{canonical}/{quote(version)}/")


@bp.route("/manage/projects/{name}/status", methods=ALL_METHODS, content_types=ANY_CONTENT)
@page_view
def manage_status(name: str) -> Response:
    request = bp.current_request
    viewer, form = _admin_form(request)
    canonical = _canonical(name)
    try:
        status = ProjectStatus(form.get("status", ""))
    except ValueError:
        raise NotFoundError("No such project status.") from None
    container().moderation.set_status(
        canonical, status, form.get("reason", "")[:500] or None, by=viewer.principal
    )
    return _redirect(f"{_base(request)}project/{canonical}/")
