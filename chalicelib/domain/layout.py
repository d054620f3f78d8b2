"""Where things live in the bucket. infra/template.yaml filters and expires by these prefixes."""

from __future__ import annotations

# Objects appearing here are completed uploads waiting for the validator; the
# bucket notification and the lifecycle rule for abandoned uploads use this prefix.
STAGING_PREFIX = "staging/"
# Core metadata extracted by the validator, kept apart so writing it fires no event.
STAGING_METADATA_PREFIX = "staging-metadata/"
# The static index: rendered from DynamoDB, served by the read routes.
INDEX_PREFIX = "simple/"

# Published files and their core metadata, served by 302 to a presigned GET.
FILES_PREFIX = "files/"
# Where an upload's bytes are written, once: the multipart upload completes here, the
# validator writes the core metadata beside it, and publishing points the release at it
# (no copy). One folder per file upload session, three levels under files/, so it never
# meets the two-level files/<project>/<filename> of legacy uploads.
STORED_PREFIX = f"{FILES_PREFIX}u/"

ROOT_INDEX_HTML = f"{INDEX_PREFIX}index.html"
ROOT_INDEX_JSON = f"{INDEX_PREFIX}index.json"


def staged_key(token: str, file_id: str, filename: str) -> str:
    """The key of sessions opened before uploads were stored in place (still read)."""
    return f"{STAGING_PREFIX}{token}/{file_id}/{filename}"


def stored_key(file_id: str, filename: str) -> str:
    """Where a file upload session's bytes live from the first part to the last download.
    No session token in it: once published it appears in every download's presigned URL."""
    return f"{STORED_PREFIX}{file_id}/{filename}"


def stored_folder(key: str) -> str | None:
    """The folder holding a stored file and its metadata (deleting it deletes both), or
    ``None`` for a key of the older staging layout."""
    if not key.startswith(STORED_PREFIX):
        return None
    return key.rsplit("/", 1)[0] + "/"


def uploaded_key(token: str, file_id: str) -> str:
    """Writing this small object (its S3 event) starts the validator on the file's bytes."""
    return f"{STAGING_PREFIX}{token}/{file_id}/{UPLOADED}"


UPLOADED = "uploaded.json"


def staged_metadata_key(token: str, file_id: str, filename: str) -> str:
    return f"{STAGING_METADATA_PREFIX}{token}/{file_id}/{filename}.metadata"


def staged_attestations_key(token: str, file_id: str) -> str:
    """Attestations posted for a pending file, with the uploader's publisher (no event)."""
    return f"{STAGING_METADATA_PREFIX}{token}/{file_id}/attestations.json"


def staged_provenance_key(token: str, file_id: str, filename: str) -> str:
    """The verified PEP 740 provenance object of a validated file."""
    return f"{STAGING_METADATA_PREFIX}{token}/{file_id}/{filename}.provenance"


def parse_staged_key(key: str) -> tuple[str, str, str] | None:
    """(token, file id, filename) of a staged upload's key, or ``None`` for anything else."""
    if not key.startswith(STAGING_PREFIX):
        return None
    parts = key[len(STAGING_PREFIX) :].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def project_index_keys(project: str) -> tuple[str, str]:
    """(HTML key, JSON key) of a project's page."""
    return f"{INDEX_PREFIX}{project}/index.html", f"{INDEX_PREFIX}{project}/index.json"


def published_key(project: str, filename: str) -> str:
    return f"{FILES_PREFIX}{project}/{filename}"


def published_provenance_key(project: str, filename: str) -> str:
    """A published file's PEP 740 provenance object, served by the Integrity API."""
    return f"{FILES_PREFIX}{project}/{filename}.provenance"


def publish_request_key(token: str) -> str:
    """Writing this object (its S3 event) starts the publisher for the session."""
    return f"{STAGING_PREFIX}{token}/publish-request.json"


def parse_publish_request_key(key: str) -> str | None:
    if not key.startswith(STAGING_PREFIX) or not key.endswith("/publish-request.json"):
        return None
    token = key[len(STAGING_PREFIX) : -len("/publish-request.json")]
    return token if token and "/" not in token else None


def loggable_key(key: str) -> str:
    """A staging key with its session token cut short: the token is a preview credential."""
    for prefix in (STAGING_PREFIX, STAGING_METADATA_PREFIX):
        if key.startswith(prefix):
            token, _, rest = key[len(prefix) :].partition("/")
            short = token if len(token) <= 8 else token[:8] + "..."
            return f"{prefix}{short}/{rest}" if rest else f"{prefix}{short}"
    return key
