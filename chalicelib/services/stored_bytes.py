"""Deleting an upload's bytes: never those a published release serves.

A file upload session writes its bytes once, at the key they are served from once
published (``layout.stored_key``). Cancel, a refused transfer, a rejected file and the
sweeper's purge of an expired session all end here, and each checks the catalog first:
bytes a committed release points at stay, whatever sent the delete.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..domain.layout import STAGING_METADATA_PREFIX, STAGING_PREFIX, stored_folder, uploaded_key

if TYPE_CHECKING:
    from ..domain.ports import Catalog, StagingStorage
    from ..domain.sessions import FileRecord


def published_here(catalog: Catalog, project: str, record: FileRecord) -> bool:
    """Whether a committed release serves this file upload session's bytes."""
    entry = catalog.published_file(project, record.filename)
    return entry is not None and entry.key == record.staged_key


def discard_bytes(
    staging: StagingStorage, catalog: Catalog, project: str, record: FileRecord
) -> None:
    """Abort the file's multipart upload and delete its bytes, metadata and upload marker,
    unless a published release serves them. Idempotent."""
    if record.upload_id:
        staging.abort_upload(record.staged_key, record.upload_id)
    folder = stored_folder(record.staged_key)
    if folder is not None and not published_here(catalog, project, record):
        staging.delete_prefix(folder)
    staging.delete_prefix(f"{STAGING_PREFIX}{record.session_token}/{record.file_id}/")
    staging.delete_prefix(f"{STAGING_METADATA_PREFIX}{record.session_token}/{record.file_id}/")


def finish_and_announce(staging: StagingStorage, record: FileRecord) -> None:
    """Complete the file's multipart upload, then write its upload marker under the staging
    prefix, whose event starts the validator (the stored key is outside the notified prefix,
    so that published files never fire one)."""
    assert record.upload_id
    staging.finish_upload(record.staged_key, record.upload_id)
    if stored_folder(record.staged_key) is not None:
        staging.put_bytes(
            uploaded_key(record.session_token, record.file_id),
            json.dumps({"file": record.file_id}).encode(),
            "application/json",
        )
