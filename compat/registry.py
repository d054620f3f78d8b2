"""The package registry (PyPI): a project's files by the PEP 691 JSON simple API, and
downloads verified against the sha256 the registry publishes."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests
from packaging.utils import canonicalize_name

SIMPLE = "https://pypi.org/simple/"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
CHUNK = 1024 * 1024
RETRIES = 4


class RegistryError(Exception):
    """The registry does not have what the list asks for, or sent something else."""


@dataclass(frozen=True)
class RemoteFile:
    filename: str
    url: str
    sha256: str
    size: int | None
    upload_time: str | None
    yanked: bool


def _get(http: requests.Session, url: str, **kwargs) -> requests.Response:
    for attempt in range(RETRIES):
        try:
            response = http.get(url, timeout=60, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == RETRIES - 1:
                raise
            time.sleep(2**attempt)
            continue
        if response.status_code >= 500 and attempt < RETRIES - 1:
            time.sleep(2**attempt)
            continue
        return response
    raise AssertionError("unreachable")


def project_files(http: requests.Session, project: str, cache: Path) -> dict[str, RemoteFile]:
    """Every file of ``project`` the registry lists, by filename.

    The JSON page is kept in ``cache`` so that later runs need no index request.
    """
    name = canonicalize_name(project)
    page = cache / f"{name}.json"
    if not page.is_file():
        response = _get(http, SIMPLE + quote(name) + "/", headers={"Accept": SIMPLE_JSON})
        if response.status_code == 404:
            raise RegistryError(f"{project}: not on the registry")
        response.raise_for_status()
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_bytes(response.content)
    body = json.loads(page.read_bytes())
    return {
        f["filename"]: RemoteFile(
            filename=f["filename"],
            url=f["url"],
            sha256=f["hashes"]["sha256"],
            size=f.get("size"),
            upload_time=f.get("upload-time"),
            yanked=bool(f.get("yanked")),
        )
        for f in body["files"]
        if "sha256" in f.get("hashes", {})
    }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download(http: requests.Session, remote: RemoteFile, target: Path) -> bool:
    """Make ``target`` hold ``remote``'s bytes, verified by sha256.

    Returns whether bytes were fetched (False: the cached copy was already right).
    Raises ``RegistryError`` when the registry's bytes do not match its own hash.
    """
    if target.is_file() and sha256_of(target) == remote.sha256:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    with _get(http, remote.url, stream=True) as response:
        response.raise_for_status()
        with partial.open("wb") as out:
            for chunk in response.iter_content(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    if digest.hexdigest() != remote.sha256:
        partial.unlink()
        raise RegistryError(
            f"{remote.filename}: sha256 {digest.hexdigest()} is not the registry's {remote.sha256}"
        )
    partial.replace(target)
    return True
