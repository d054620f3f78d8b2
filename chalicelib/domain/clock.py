"""Time as wharf stores and shows it: UTC, one fixed text form."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """Fixed-width UTC text, so stored times compare correctly as strings."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_seconds(value: datetime) -> str:
    """UTC, whole seconds, ``Z``: the form shown to clients."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
