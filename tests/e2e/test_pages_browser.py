"""The people's pages in a real headless Chromium (Debian's chromium and chromium-driver,
driven by Selenium) against the local stack. One browser for the module; each test saves a
screenshot (two of them go to docs/screenshots/, shown in the README)."""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.builders import metadata_text, wheel_bytes
from tests.e2e.conftest import run_wharf

pytestmark = pytest.mark.e2e

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DOCS_SHOTS = ROOT / "docs" / "screenshots"
MiB = 1024 * 1024
V2 = "application/vnd.pypi.upload.v2+json"
META = {"api-version": "2.0"}
README = """# pagesdemo-tools

Command-line helpers for **acme** teams.

| command | what it does |
|---|---|
| `acme sync` | syncs |

See [the guide](https://docs.example/acme).
"""
HOSTILE = (
    """# Hostile readme

<script>document.title = "pwned"; window.pwned = true;</script>

<img src="x" onerror="document.title='pwned'; window.pwned = true">

[click me](javascript:window.pwned=true)

<a href="javascript:window.pwned=true" id="bad">raw link</a>

<svg onload="window.pwned = true"></svg>

<iframe srcdoc="<script>parent.pwned = true</script>"></iframe>

"""
    + "| a | b |\n|---|---|\n"
    + "| x | y |\n" * 2000
)


def shot(driver, tmp_path: Path, name: str, *, docs: bool = False) -> Path:
    target = (DOCS_SHOTS if docs else tmp_path) / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(target))
    assert target.stat().st_size > 1000
    return target


def wait_for(driver, condition, timeout: float = 20):
    # WebDriverWait polls with time.sleep (safe under libfaketime). The uploads page
    # replaces its list every 2 s, so an element found just before a refresh goes stale:
    # that poll is retried, not a failure.
    from selenium.common.exceptions import StaleElementReferenceException

    return WebDriverWait(
        driver,
        timeout,
        poll_frequency=0.2,
        ignored_exceptions=(StaleElementReferenceException,),
    ).until(condition)


@pytest.fixture(scope="module")
def driver() -> Iterator:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1100,900",
        "--disable-gpu",
    ):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    browser.set_page_load_timeout(30)
    yield browser
    browser.quit()


def token(stack, *args: str) -> str:
    created = run_wharf(stack, "token", "create", *args, "--json")
    assert created.returncode == 0, created.stderr
    return json.loads(created.stdout)["token"]


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory) -> dict[str, str]:
    """Two published projects (one with a yanked release, one with a hostile README)."""
    upload = token(stack, "--role", "upload", "--project", "pagesdemo-*")
    dists = tmp_path_factory.mktemp("dists")
    for name, version, readme in (
        ("pagesdemo-tools", "1.0", README),
        ("pagesdemo-tools", "1.1", README),
        ("pagesdemo-hostile", "1.0", HOSTILE),
    ):
        text = metadata_text(
            name,
            version,
            summary=f"{name} summary",
            requires=("requests>=2",),
            extra=("Description-Content-Type: text/markdown",),
        ).replace("The long description.\n", readme)
        wheel = dists / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
        wheel.write_bytes(wheel_bytes(name.replace("-", "_"), version, metadata=text))
        done = run_wharf(stack, "upload", str(wheel), token=upload)
        assert done.returncode == 0, done.stderr
    yanked = requests.post(
        f"{stack.url}/admin/projects/pagesdemo-tools/yank",
        json={"target": "1.0", "reason": "broken build"},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=30,
    )
    assert yanked.status_code == 200, yanked.text
    return {"upload": upload, "read": token(stack, "--role", "read")}


def sign_in(driver, stack, secret: str) -> None:
    driver.get(f"{stack.url}/signin")
    driver.delete_all_cookies()
    driver.get(f"{stack.url}/signin")
    field = driver.find_element(By.ID, "token")
    field.send_keys(secret)
    field.submit()
    wait_for(driver, lambda d: d.current_url.endswith("/projects/"))
    assert secret not in driver.page_source


def test_reader_filters_reads_copies_and_opens_a_file(driver, stack, world, tmp_path):
    sign_in(driver, stack, world["read"])
    rows = driver.find_elements(By.CSS_SELECTOR, "#project-list li[data-name]")
    assert {"pagesdemo-tools", "pagesdemo-hostile"} <= {r.get_attribute("data-name") for r in rows}
    driver.find_element(By.ID, "filter").send_keys("demo-too")
    hostile = driver.find_element(By.CSS_SELECTOR, 'li[data-name="pagesdemo-hostile"]')
    wait_for(driver, lambda d: not hostile.is_displayed())  # filtered live, by JavaScript
    driver.find_element(By.LINK_TEXT, "pagesdemo-tools").click()
    wait_for(driver, lambda d: "pagesdemo-tools 1.1" in d.find_element(By.TAG_NAME, "h1").text)
    readme = driver.find_element(By.ID, "readme")
    assert readme.find_element(By.TAG_NAME, "h1").text == "pagesdemo-tools"
    assert readme.find_element(By.TAG_NAME, "strong").text == "acme"
    assert readme.find_element(By.TAG_NAME, "table").is_displayed()
    command = driver.find_element(By.ID, "install-command").text
    assert command.startswith('pip install --index-url "http://__token__:$WHARF_TOKEN@')
    driver.find_element(By.CSS_SELECTOR, "button[data-copy='#install-command']").click()
    wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".install .copied").text == "Copied")
    history = driver.find_element(By.CSS_SELECTOR, "table.history").text
    assert "1.0" in history and "yanked" in history and "broken build" in history
    details = driver.find_element(By.CSS_SELECTOR, ".files details")
    sha = details.find_element(By.CSS_SELECTOR, "code.hash")
    assert not sha.is_displayed()
    details.find_element(By.TAG_NAME, "summary").click()
    wait_for(driver, lambda d: sha.is_displayed())
    assert len(sha.text) == 64
    assert world["read"] not in driver.page_source
    driver.execute_script("window.scrollTo(0, 0)")
    shot(driver, tmp_path, "project-page", docs=True)


def test_no_script_from_a_hostile_readme_runs(driver, stack, world, tmp_path):
    sign_in(driver, stack, world["read"])
    driver.get(f"{stack.url}/project/pagesdemo-hostile/")
    wait_for(driver, lambda d: d.find_element(By.ID, "readme"))
    driver.find_element(By.LINK_TEXT, "raw link").click()  # a javascript: link, defused
    time.sleep(0.5)
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    assert driver.title != "pwned"
    assert driver.execute_script("return window.pwned === undefined")
    assert driver.find_elements(By.CSS_SELECTOR, "#readme script, #readme iframe") == []
    shot(driver, tmp_path, "hostile-readme")


def test_admin_creates_and_revokes_a_token(driver, stack, world, tmp_path):
    sign_in(driver, stack, stack.admin_token)
    driver.get(f"{stack.url}/manage/tokens")
    driver.find_element(By.ID, "description").send_keys("browser test")
    driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    secret = wait_for(driver, lambda d: d.find_element(By.ID, "new-secret")).text
    assert requests.get(f"{stack.url}/simple/", auth=("__token__", secret), timeout=30).ok
    row = driver.find_element(By.XPATH, "//tr[td[4][text()='browser test']]")
    row.find_element(By.CSS_SELECTOR, "button.danger").click()
    wait_for(driver, lambda d: "new-secret" not in d.page_source)
    revoked = requests.get(f"{stack.url}/simple/", auth=("__token__", secret), timeout=30)
    assert revoked.status_code == 401
    assert secret not in driver.page_source
    shot(driver, tmp_path, "tokens")


def test_admin_yanks_a_release_and_sees_the_badge(driver, stack, world, tmp_path):
    sign_in(driver, stack, stack.admin_token)
    driver.get(f"{stack.url}/project/pagesdemo-tools/1.1/")
    driver.find_element(By.ID, "yank-reason").send_keys("security fix in 1.2")
    driver.find_element(By.XPATH, "//button[text()='Yank 1.1']").click()
    notice = wait_for(driver, lambda d: d.find_element(By.ID, "yank-notice"))
    assert "security fix in 1.2" in notice.text
    assert driver.find_element(By.CSS_SELECTOR, "h1 .badge-yanked").text == "yanked"
    shot(driver, tmp_path, "yanked")


def test_admin_watches_a_large_upload_progress(driver, stack, world, tmp_path):
    auth = {"Authorization": f"Bearer {world['upload']}", "Content-Type": V2}
    session = requests.post(
        f"{stack.url}/upload/",
        json={"meta": META, "name": "pagesdemo-big", "version": "1.0"},
        headers=auth,
        timeout=30,
    ).json()
    try:
        file = requests.post(
            session["links"]["upload"],
            json={
                "meta": {**META, "_wharf": {"part-size": 5 * MiB}},
                "filename": "pagesdemo_big-1.0-py3-none-any.whl",
                "size": 15 * MiB,
                "hashes": {"sha256": "0" * 64},
                "mechanism": "vnd-wharf-s3multipart-presigned-v1",
            },
            headers=auth,
            timeout=30,
        ).json()
        urls = requests.post(
            file["mechanism"]["parts_url"],
            json={"meta": META, "parts": [1, 2, 3]},
            headers=auth,
            timeout=30,
        ).json()["urls"]
        sign_in(driver, stack, stack.admin_token)
        driver.get(f"{stack.url}/manage/sessions")

        def parts_cell(d):
            for section in d.find_elements(By.CSS_SELECTOR, "#sessions section.session"):
                if "pagesdemo-big 1.0" in section.text:
                    return section.find_element(By.CSS_SELECTOR, "td.parts").text
            return None

        wait_for(driver, lambda d: parts_cell(d) == "0 of 3")
        part = os.urandom(5 * MiB)
        assert requests.put(urls["1"], data=part, timeout=60).ok
        # No reload: the page's script refreshes the list.
        wait_for(driver, lambda d: parts_cell(d) == "1 of 3")
        assert requests.put(urls["2"], data=part, timeout=60).ok
        wait_for(driver, lambda d: parts_cell(d) == "2 of 3")
        assert "10485760 of 15728640 bytes" in driver.find_element(By.ID, "sessions").text
        shot(driver, tmp_path, "upload-progress", docs=True)
    finally:
        requests.delete(session["links"]["session"], headers=auth, timeout=30)


def test_a_cross_site_post_is_refused(driver, stack, world, tmp_path):
    sign_in(driver, stack, stack.admin_token)
    before = requests.get(
        f"{stack.url}/admin/tokens", headers={"Authorization": f"Bearer {stack.admin_token}"}
    ).json()["tokens"]
    form = (
        f'<form method="post" action="{stack.url}/manage/tokens">'
        '<input name="role" value="admin"><input name="description" value="forged">'
        '<button id="go" type="submit">go</button></form>'
    ).encode()

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(form)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # "localhost" is another site than "127.0.0.1": the SameSite=Strict cookie stays home.
        driver.get(f"http://localhost:{server.server_address[1]}/")
        driver.find_element(By.ID, "go").click()
        wait_for(driver, lambda d: d.current_url.startswith(stack.url))
        assert "New token" not in driver.page_source
        shot(driver, tmp_path, "cross-site-refused")
    finally:
        server.shutdown()
        server.server_close()
    after = requests.get(
        f"{stack.url}/admin/tokens", headers={"Authorization": f"Bearer {stack.admin_token}"}
    ).json()["tokens"]
    assert len(after) == len(before)
    assert "forged" not in {t["description"] for t in after}
