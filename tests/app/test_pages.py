"""The people's pages in process: sign-in, CSRF, escaping, hostile READMEs, admin forms,
download counts. The browser tests (tests/e2e/test_pages_browser.py) drive the same pages
in Chromium."""

from __future__ import annotations

import html
import json
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

from tests.builders import metadata_text, wheel_bytes
from tests.conftest import basic
from tests.upload_client import UploadClient, deliver_events, release
from tests.upload_client import publish as request_publish

pytestmark = pytest.mark.memory

HOSTILE = (
    """# Hostile

<script>document.title = "pwned"</script>

<img src="x" onerror="alert(1)">

[click me](javascript:alert(1))

<a href="javascript:alert(2)">raw link</a>

<iframe src="https://evil.example/"></iframe>

<div onclick="alert(3)" style="position:fixed">raw html</div>

"""
    + "| a | b |\n|---|---|\n"
    + "| x | y |\n" * 3000
)


def metadata(version: str, description: str, content_type: str = "text/markdown") -> str:
    head = metadata_text(
        version=version,
        summary="Tools for <acme> & friends",
        requires=("requests>=2", "rich; extra == 'cli'"),
        extra=(
            f"Description-Content-Type: {content_type}",
            "Project-URL: Source, https://git.example/acme-tools",
            "Project-URL: Docs, http://docs.example/acme",
        ),
    )
    return head.replace("The long description.\n", description)


@pytest.fixture
def publish(http, issue, app_client, aws):
    uploader = UploadClient(http, issue("upload", ("acme-*",), description="CI for acme"))

    def _publish(version: str, description: str = "# Acme tools\n\nHello **world**.\n", **kw):
        data = wheel_bytes(version=version, metadata=metadata(version, description, **kw))
        name = f"acme_tools-{version}-py3-none-any.whl"
        release(uploader, app_client, aws, "acme-tools", version, {name: data})
        return name

    return _publish


class Browser:
    """A cookie jar over the in-process client, as a browser would send requests."""

    def __init__(self, http) -> None:
        self.http = http
        self.cookies: dict[str, str] = {}

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Host": "wharf.test"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def _keep(self, response) -> None:
        raw = response.headers.get("Set-Cookie") or response.headers.get("set-cookie")
        if raw:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)

    def get(self, path: str, headers: dict[str, str] | None = None):
        response = self.http.get(path, headers=self._headers(headers))
        self._keep(response)
        return response

    def post(self, path: str, form: dict[str, str], headers: dict[str, str] | None = None):
        extra = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        response = self.http.post(path, headers=self._headers(extra), body=urlencode(form))
        self._keep(response)
        return response

    def csrf(self, path: str) -> str:
        page = self.get(path)
        assert page.status_code in (200, 201), page.body
        return re.search(rb'name="csrf" value="([^"]+)"', page.body).group(1).decode()

    def sign_in(self, secret: str):
        csrf = self.csrf("/signin")
        return self.post("/signin", {"csrf": csrf, "token": secret})


def text(response) -> str:
    return response.body.decode()


def test_pages_need_a_sign_in_and_simple_is_unchanged(http):
    browser = Browser(http)
    for path in ("/projects/", "/project/acme-tools/", "/manage/tokens"):
        response = browser.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].endswith("signin")
    assert http.get("/simple/").status_code == 401
    root = http.get("/", headers=basic("wharf_secret-in-a-header"))
    assert root.status_code == 303 and root.headers["Location"] == "projects/"
    assert "wharf_secret" not in root.body.decode()
    posted = http.post("/", headers=basic("wharf_secret-in-a-header"))
    assert posted.status_code == 404
    assert posted.headers["Content-Type"] == "application/problem+json"


def test_sign_in_sets_a_safe_cookie_and_sign_out_ends_it(http, issue, wharf):
    secret = issue("read")
    browser = Browser(http)
    response = browser.sign_in(secret)
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-wharf=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Secure", "Path=/"):
        assert attribute in cookie
    session_id = browser.cookies["__Host-wharf"]
    assert secret not in cookie and session_id != secret
    # Stored only as a hash.
    from chalicelib.domain.pages import hash_session_id

    assert wharf.stores.pages.browser_session(session_id) is None
    assert wharf.stores.pages.browser_session(hash_session_id(session_id)) is not None
    page = browser.get("/projects/")
    assert page.status_code == 200
    assert secret not in text(page)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    csrf = re.search(r'name="csrf" value="([^"]+)"', text(page)).group(1)
    assert browser.post("/signout", {"csrf": csrf}).status_code == 303
    assert wharf.stores.pages.browser_session(hash_session_id(session_id)) is None
    browser.cookies["__Host-wharf"] = session_id  # a copy of the old cookie is worthless
    assert browser.get("/projects/").status_code == 303


def test_cookie_is_not_secure_on_the_local_stack(http, issue, rebuild):
    rebuild(secure_cookies=False)
    response = Browser(http).sign_in(issue("read"))
    assert "Secure" not in response.headers["Set-Cookie"]
    assert response.headers["Set-Cookie"].startswith("wharf_session=")


def test_sign_in_refuses_bad_tokens_and_forged_forms(http, issue, wharf):
    browser = Browser(http)
    refused = browser.sign_in("wharf_not-a-real-token")
    assert refused.status_code == 401
    assert "not valid" in text(refused)
    assert "wharf_not-a-real-token" not in text(refused)
    # No CSRF cookie (a form on another site): refused before the token is even looked at.
    forged = Browser(http).post("/signin", {"csrf": "x", "token": issue("read")})
    assert forged.status_code == 403
    assert "Set-Cookie" not in forged.headers


def test_a_session_ends_when_its_token_is_revoked_or_it_expires(http, issue, wharf, clock):
    secret = issue("read")
    browser = Browser(http)
    browser.sign_in(secret)
    assert browser.get("/projects/").status_code == 200
    token_id = wharf.tokens.authenticate(secret).token_id
    wharf.tokens.revoke(token_id)
    assert browser.get("/projects/").status_code == 303
    other = Browser(http)
    other.sign_in(issue("read"))
    clock.advance(hours=8, seconds=1)
    assert other.get("/projects/").status_code == 303


def test_project_page_shows_the_release(http, issue, publish, clock):
    publish("1.0", "# Old\n")
    clock.advance(days=1)
    filename = publish("1.1")
    browser = Browser(http)
    reader = issue("read")
    browser.sign_in(reader)
    page = text(browser.get("/project/acme-tools/"))
    assert "acme-tools 1.1" in page
    assert "Tools for &lt;acme&gt; &amp; friends" in page  # escaped, not raw
    assert "<h1" in page and "Hello <strong>world</strong>." in page  # the README, rendered
    command = (
        'pip install --index-url "http://__token__:$WHARF_TOKEN@wharf.test/simple/" acme-tools'
    )
    assert command in html.unescape(page)
    assert filename in page and "requests&gt;=2" in page and "&gt;=3.9" in page
    assert 'href="https://git.example/acme-tools"' in page
    assert "javascript:" not in page
    assert "token " in page and "(CI for acme)" in page  # who published it
    assert "2001-01-01" in page and "2001-01-02" in page  # release history with dates
    assert reader not in page
    older = text(browser.get("/project/acme-tools/1.0/"))
    assert "acme-tools 1.0" in older and "The latest version is" in older
    assert browser.get("/project/Acme_Tools/").headers["Location"] == "../../project/acme-tools/"
    assert browser.get("/project/acme-tools/9.9/").status_code == 404


def test_project_list_filters_by_name_and_summary(http, issue, publish):
    publish("1.0")
    browser = Browser(http)
    browser.sign_in(issue("read"))
    assert "acme-tools" in text(browser.get("/projects/?q=friends"))
    assert "acme-tools" in text(browser.get("/projects/?q=ACME"))
    assert 'href="../project/acme-tools/"' not in text(browser.get("/projects/?q=zebra"))


def test_pages_read_as_simple_does(http, issue, publish):
    publish("1.0")
    browser = Browser(http)
    browser.sign_in(issue("upload", ("other-*",)))
    assert browser.get("/project/acme-tools/").status_code == 404
    assert "acme-tools" not in text(browser.get("/projects/"))
    # The Authorization header reads the pages too (as it reads /simple/).
    assert http.get("/project/acme-tools/", headers=basic(issue("read"))).status_code == 200


def test_hostile_readme_renders_safely(http, issue, publish):
    publish("1.0", HOSTILE)
    browser = Browser(http)
    browser.sign_in(issue("read"))
    response = browser.get("/project/acme-tools/")
    page = text(response)
    assert response.status_code == 200
    readme = page.split('id="readme">', 1)[1].split("</div>\n</div>", 1)[0]
    lowered = readme.lower()
    for forbidden in ("<script", "onerror", "onclick", "javascript:", "<iframe", "style="):
        assert forbidden not in lowered, forbidden
    assert "raw link" in readme and "<table>" in readme
    assert page.count("<script") == 1  # only our own static file
    assert '<script src="../../static/wharf.js" defer></script>' in page


def test_rst_and_broken_descriptions(http, issue, publish):
    rst = "Title\n=====\n\n.. raw:: html\n\n   <script>x()</script>\n"
    publish("1.0", rst, content_type="text/x-rst")
    browser = Browser(http)
    browser.sign_in(issue("read"))
    page = text(browser.get("/project/acme-tools/"))
    assert "<script>x()" not in page and "&lt;script&gt;x()" in page


def admin_browser(http, admin) -> Browser:
    browser = Browser(http)
    assert browser.sign_in(admin).status_code == 303
    return browser


def test_admin_creates_and_revokes_a_token(http, admin, wharf):
    browser = admin_browser(http, admin)
    csrf = browser.csrf("/manage/tokens")
    created = browser.post(
        "/manage/tokens", {"csrf": csrf, "role": "read", "description": "laptop"}
    )
    assert created.status_code == 201
    secret = re.search(r'id="new-secret">([^<]+)<', text(created)).group(1)
    assert http.get("/simple/", headers=basic(secret)).status_code == 200
    # Shown once: the list never shows it again.
    assert secret not in text(browser.get("/manage/tokens"))
    token_id = wharf.tokens.authenticate(secret).token_id
    revoked = browser.post(f"/manage/tokens/{token_id}/revoke", {"csrf": csrf})
    assert revoked.status_code == 303
    assert http.get("/simple/", headers=basic(secret)).status_code == 401
    bad = browser.post("/manage/tokens", {"csrf": csrf, "role": "upload"})
    assert bad.status_code == 400 and "at least one project pattern" in text(bad)


def test_state_changing_forms_need_the_csrf_token(http, admin, wharf):
    browser = admin_browser(http, admin)
    csrf = browser.csrf("/manage/tokens")
    before = len(wharf.tokens.list())
    assert browser.post("/manage/tokens", {"role": "read"}).status_code == 403
    assert browser.post("/manage/tokens", {"role": "read", "csrf": "wrong"}).status_code == 403
    cross = browser.post(
        "/manage/tokens",
        {"role": "read", "csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    # The Authorization header alone cannot change anything through a form.
    header_only = http.post(
        "/manage/tokens",
        headers={**basic(admin), "Content-Type": "application/x-www-form-urlencoded"},
        body="role=read",
    )
    assert header_only.status_code == 403
    assert len(wharf.tokens.list()) == before


def test_admin_pages_are_for_admins(http, issue):
    browser = Browser(http)
    browser.sign_in(issue("read"))
    assert browser.get("/manage/tokens").status_code == 403
    assert browser.get("/manage/sessions").status_code == 403
    assert "manage/tokens" not in text(browser.get("/projects/"))


def test_yank_and_status_through_the_forms(http, admin, issue, publish):
    publish("1.0")
    browser = admin_browser(http, admin)
    csrf = browser.csrf("/project/acme-tools/")
    yanked = browser.post(
        "/manage/projects/acme-tools/yank",
        {"csrf": csrf, "version": "1.0", "action": "yank", "reason": "broken <build>"},
    )
    assert yanked.status_code == 303
    page = text(browser.get("/project/acme-tools/1.0/"))
    assert 'class="badge badge-yanked"' in page and "broken &lt;build&gt;" in page
    index = json.loads(
        http.get(
            "/simple/acme-tools/",
            headers={**basic(issue("read")), "Accept": "application/vnd.pypi.simple.v1+json"},
        ).body
    )
    assert index["files"][0]["yanked"] == "broken <build>"
    browser.post(
        "/manage/projects/acme-tools/status",
        {"csrf": csrf, "status": "deprecated", "reason": "use acme2"},
    )
    page = text(browser.get("/project/acme-tools/"))
    assert "badge-deprecated" in page and "use acme2" in page


def test_downloads_are_counted_for_thirty_days(http, issue, publish, clock):
    filename = publish("1.0")
    reader = basic(issue("read"))
    for _ in range(3):
        assert http.get(f"/files/acme-tools/{filename}", headers=reader).status_code == 302
    http.get(f"/files/acme-tools/{filename}.metadata", headers=reader)  # not a download
    browser = Browser(http)
    browser.sign_in(issue("read"))
    assert browser.get(f"/project/acme-tools/files/{filename}").status_code == 302
    page = text(browser.get("/project/acme-tools/"))
    assert "4 of this version, 4 in all" in page
    clock.advance(days=31)
    browser.sign_in(issue("read"))
    assert "0 of this version" in text(browser.get("/project/acme-tools/"))


def test_sessions_in_progress_show_file_progress(http, admin, issue, wharf):
    MiB = 1024 * 1024
    uploader = UploadClient(http, issue("upload", ("acme-*",)))
    session = uploader.create(name="acme-tools", version="2.0")
    assert session.status == 201
    file = uploader.add_file(
        session,
        "acme_tools-2.0-py3-none-any.whl",
        b"",
        size=12 * MiB,
        mechanism="vnd-wharf-s3multipart-presigned-v1",
        meta={"api-version": "2.0", "_wharf": {"part-size": 5 * MiB}},
    )
    assert file.status == 202, file
    uploader.add_file(session, "acme_tools-2.0.tar.gz", b"small sdist")
    browser = admin_browser(http, admin)

    def row(name: str) -> str:
        page = text(browser.get("/manage/sessions?fragment=1"))
        assert "<html" not in page
        return page.split(name, 1)[1].split("</tr>", 1)[0]

    assert "0 of 12582912 bytes" in row("acme_tools-2.0-py3-none-any.whl")
    assert "0 of 3" in row("acme_tools-2.0-py3-none-any.whl")
    # The parts S3 holds are read live (a client need not ask for URLs to show progress).
    record = next(
        f
        for f in wharf.stores.sessions.list_files(session.json["session-token"])
        if f.filename.endswith(".whl")
    )
    wharf.stores.staging.put_part(record.staged_key, record.upload_id, 1, b"x" * 5 * MiB)
    assert "5242880 of 12582912 bytes" in row("acme_tools-2.0-py3-none-any.whl")
    assert "1 of 3" in row("acme_tools-2.0-py3-none-any.whl")
    assert "pending" in row("acme_tools-2.0.tar.gz")
    page = text(browser.get("/manage/sessions"))
    assert "acme-tools 2.0" in page and session.json["session-token"] not in page
    uploader.cancel(session)
    assert "acme-tools 2.0" not in text(browser.get("/manage/sessions"))


def test_static_files_are_served_from_the_app(http):
    css = http.get("/static/wharf.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert http.get("/static/wharf.js").headers["Content-Type"].startswith("text/javascript")
    assert http.get("/static/../app.py").status_code in (403, 404)
    assert http.get("/static/nothing.js").status_code == 404


def test_the_description_is_rendered_once_at_publish(http, issue, publish, wharf, monkeypatch):
    publish("1.0")
    stored = wharf.stores.objects.get("pages/acme-tools/1/description.html")
    assert stored is not None and b"Hello <strong>world</strong>." in stored.body

    def no_rendering(*args, **kwargs):
        raise AssertionError("a page view rendered the description")

    monkeypatch.setattr("chalicelib.services.pages.render_description", no_rendering)
    browser = Browser(http)
    browser.sign_in(issue("read"))
    assert "Hello <strong>world</strong>." in text(browser.get("/project/acme-tools/"))


def test_a_failing_render_step_never_fails_the_publish(http, issue, publish, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr("chalicelib.services.pages.render_description", broken)
    publish("1.0")
    reader = basic(issue("read"))
    assert http.get("/simple/acme-tools/", headers=reader).status_code == 200
    page = http.get("/project/acme-tools/", headers=reader)
    assert page.status_code == 200 and "No description was published" in text(page)


def test_legacy_uploads_get_pages_too(http, issue):
    from tests.app.test_legacy import post

    data = wheel_bytes(metadata=metadata("1.0", "Legacy *readme*\n"))
    assert post(http, issue("upload", ("acme-*",)), data).status_code == 200
    page = text(http.get("/project/acme-tools/", headers=basic(issue("read"))))
    assert "Legacy <em>readme</em>" in page and "Tools for &lt;acme&gt;" in page


def test_the_trusted_publisher_identity_is_shown(http, issue, wharf):
    from chalicelib.domain.identity import IssuerKind, PublisherIdentity

    identity = PublisherIdentity(
        publisher_id="p1",
        kind=IssuerKind.GITHUB,
        issuer="https://token.actions.githubusercontent.com",
        repository="acme/tools",
        workflow="release.yml",
    )
    from tests.app.test_legacy import post

    data = wheel_bytes(metadata=metadata("1.0", "Hi\n"))
    assert post(http, issue("upload", ("acme-*",)), data).status_code == 200
    doc = wharf.stores.pages.releases("acme-tools")[0]
    wharf.stores.pages.put_release(
        doc.model_copy(update={"published_by": doc.published_by.model_copy(
            update={"publisher": identity})})
    )  # fmt: skip
    page = text(http.get("/project/acme-tools/", headers=basic(issue("read"))))
    assert "trusted publisher acme/tools (release.yml)" in page


def test_a_crash_before_the_render_step_is_redone_on_redelivery(
    http, issue, app_client, aws, wharf, monkeypatch
):
    from chalicelib.services.publishing import Publisher

    uploader = UploadClient(http, issue("upload", ("acme-*",)))
    session = uploader.create(name="acme-tools", version="1.0")
    data = wheel_bytes(version="1.0", metadata=metadata("1.0", "Survives *crashes*\n"))
    uploader.upload(session, "acme_tools-1.0-py3-none-any.whl", data)
    deliver_events(app_client, aws)
    assert request_publish(uploader, session).status == 202
    token = session.json["session-token"]
    redo = Publisher.describe_release

    def crash(*args, **kwargs):
        raise RuntimeError("the Lambda died here")

    monkeypatch.setattr(Publisher, "describe_release", crash)
    with pytest.raises(RuntimeError):
        wharf.publisher.run(token)  # committed, then the crash
    monkeypatch.setattr(Publisher, "describe_release", redo)
    assert wharf.publisher.run(token) == "already published: re-rendered"
    page = text(http.get("/project/acme-tools/", headers=basic(issue("read"))))
    assert "Survives <em>crashes</em>" in page
    # Once done (the staged bytes deleted), a later redelivery keeps the page as it is.
    assert wharf.publisher.run(token) == "already published: re-rendered"
    assert len(wharf.stores.pages.releases("acme-tools")) == 1


def test_an_upload_only_token_from_the_page_and_the_trail_names_the_admin(http, admin, wharf):
    browser = admin_browser(http, admin)
    csrf = browser.csrf("/manage/tokens")
    created = browser.post(
        "/manage/tokens",
        {"csrf": csrf, "role": "upload", "projects": "acme-*", "description": "ci"},
    )
    assert created.status_code == 201
    secret = re.search(r'id="new-secret">([^<]+)<', text(created)).group(1)
    assert wharf.tokens.authenticate(secret).may_publish is False  # the box was unchecked
    trail = text(browser.get("/manage/audit"))
    admin_id = wharf.tokens.authenticate(admin).token_id
    assert "token.created" in trail and admin_id in trail
    assert secret not in trail


def test_admin_sees_and_removes_trusted_publishers(http, admin, wharf):
    from chalicelib.domain.trusted_publishers import PublisherRequest

    registered = wharf.trusted_publishing.register(
        PublisherRequest(
            kind="github",
            repository="acme/tools",
            repository_owner_id="42",
            workflow="release.yml",
            projects=["acme-*"],
        )
    )
    browser = admin_browser(http, admin)
    listed = text(browser.get("/manage/publishers"))
    assert registered.id in listed and "acme/tools" in listed and "release.yml" in listed
    csrf = browser.csrf("/manage/publishers")
    assert browser.post(f"/manage/publishers/{registered.id}", {"csrf": csrf}).status_code in (
        404,
        405,
    )
    forged = browser.post(f"/manage/publishers/{registered.id}/remove", {"csrf": "nope"})
    assert forged.status_code == 403 and wharf.trusted_publishing.list()
    removed = browser.post(f"/manage/publishers/{registered.id}/remove", {"csrf": csrf})
    assert removed.status_code == 303
    assert wharf.trusted_publishing.list() == []
    assert "publisher.removed" in text(browser.get("/manage/audit"))


def test_only_admins_see_the_admin_pages(http, issue):
    reader = issue("read")
    for path in ("/manage/publishers", "/manage/audit"):
        assert http.get(path, headers=basic(reader)).status_code == 403
