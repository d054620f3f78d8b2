"""What an install's requests build in a fresh sandbox: the services an install uses, and
nothing of uploads, reviews, trusted publishing or the validator (a cold start then imports
none of their modules: tests/unit/test_cold_start.py)."""

from __future__ import annotations

import json

import pytest

from tests.builders import wheel_bytes
from tests.conftest import basic
from tests.upload_client import release

WHEEL = "acme_tools-1.0-py3-none-any.whl"
JSON = "application/vnd.pypi.simple.v1+json"
# The container's services an install's requests use (bench/package.py builds these too).
INSTALL_SERVICES = {"tokens", "audit", "index", "downloads", "publisher", "sessions", "pages"}
INSTALL_STORES = {
    "tokens",
    "audit",
    "catalog",
    "objects",
    "sessions",
    "filenames",
    "staging",
    "pages",
}


@pytest.mark.moto  # the stores as a sandbox has them: adapters made on first use
def test_an_install_builds_only_what_it_uses(uploader, http, app_client, aws, issue, rebuild):
    release(uploader, app_client, aws, "acme-tools", "1.0", {WHEEL: wheel_bytes()})
    reader = basic(issue("read"))
    sandbox = rebuild()  # a new container over the same tables: a new sandbox's first calls

    listed = http.get("/simple/acme-tools/", headers={**reader, "Accept": JSON})
    assert listed.status_code == 200
    [entry] = json.loads(listed.body)["files"]
    assert http.get(f"/files/acme-tools/{WHEEL}.metadata", headers=reader).status_code == 200
    assert http.get(f"/files/acme-tools/{WHEEL}", headers=reader).status_code == 302
    assert entry["filename"] == WHEEL

    built = {name for name in vars(sandbox) if not name.startswith("_")}
    assert built - {"settings", "stores"} == INSTALL_SERVICES | {"metrics"}
    assert {name for name in vars(sandbox.stores) if not name.startswith("_")} == INSTALL_STORES
