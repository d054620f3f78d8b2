"""The legacy upload API (what twine speaks), for servers without Upload 2.0."""

from __future__ import annotations

import requests

from .client import ClientError
from .dists import Dist, core_metadata


def _pyversion(dist: Dist) -> str:
    if dist.filetype == "sdist":
        return "source"
    return dist.filename.removesuffix(".whl").split("-")[-3]


def _exists(response: requests.Response) -> bool:
    """Whether a refusal says the file is already there; the legacy API has no other signal
    than the words (twine's --skip-existing reads them the same way)."""
    if response.status_code == 409:
        return True
    return response.status_code == 400 and "already exist" in (response.text or "").lower()


def upload(
    url: str,
    auth: tuple[str, str],
    dist: Dist,
    *,
    skip_existing: bool = False,
    timeout: float = 300,
) -> str:
    """POST one file as ``multipart/form-data`` with ``:action=file_upload``, as twine does;
    ``uploaded``, or ``skipped`` for a file that exists when ``skip_existing``.

    ``url`` is tried as given; a wharf base URL gets ``/legacy/``.
    """
    metadata = core_metadata(dist)
    md5, blake2_256 = dist.legacy_digests()
    data: list[tuple[str, str]] = [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", dist.project),
        ("version", dist.version),
        ("filetype", dist.filetype),
        ("pyversion", _pyversion(dist)),
        ("metadata_version", metadata.get("metadata_version", "2.1")),
        ("sha256_digest", dist.sha256),
        ("md5_digest", md5),
        ("blake2_256_digest", blake2_256),
    ]
    single = {
        "summary": metadata.get("summary"),
        "requires_python": metadata.get("requires_python"),
        "description": metadata.get("description"),
        "license": metadata.get("license"),
    }
    data += [(key, value) for key, value in single.items() if value]
    data += [("requires_dist", value) for value in metadata.get("requires_dist", [])]
    candidates = [url.rstrip("/") + "/legacy/", url.rstrip("/") + "/"]
    last = None
    for candidate in candidates:
        with dist.path.open("rb") as handle:
            try:
                response = requests.post(
                    candidate,
                    data=data,
                    files={"content": (dist.filename, handle, "application/octet-stream")},
                    auth=auth,
                    timeout=timeout,
                )
            except requests.RequestException as error:
                raise ClientError(f"cannot reach {candidate}: {type(error).__name__}") from None
        if response.status_code in (404, 405) and candidate != candidates[-1]:
            last = response
            continue
        if skip_existing and _exists(response):
            return "skipped: already exists"
        if response.status_code >= 400:
            reason = response.reason or ""
            text = (response.text or "").strip().splitlines()
            detail = text[0][:200] if text else ""
            raise ClientError(
                f"{dist.filename}: HTTP {response.status_code} {reason}: {detail}".rstrip(": "),
                status=response.status_code,
            )
        return "uploaded"
    raise ClientError(f"no legacy upload endpoint at {url} ({last.status_code if last else '?'})")
