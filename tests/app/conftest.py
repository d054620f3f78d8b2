"""Fixtures the app tests share (tests/conftest.py has the app, AWS and tokens)."""

from __future__ import annotations

import pytest

from tests.upload_client import UploadClient


@pytest.fixture
def uploader(http, issue):
    """An Upload 2.0 client with a token that may upload ``acme-*``."""
    return UploadClient(http, issue("upload", ("acme-*",)))
