"""Request bodies, parsed at the edge: one pydantic model per body, every problem at once.

A body that does not fit its model is a 400 problem document whose ``errors`` name
each field (``source``) with its message; services receive the typed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

from ..domain.catalog import ProjectStatus
from ..domain.errors import InvalidRequestError
from ..domain.hashes import HashError, normalize_hashes
from ..domain.model import WharfModel
from ..domain.sessions import MAX_NAME_LENGTH, MAX_VERSION_LENGTH

Model = TypeVar("Model", bound=BaseModel)


def parse_body(model: type[Model], body: Mapping[str, Any], *, what: str) -> Model:
    """``body`` as ``model``, or ``InvalidRequestError`` naming every problem."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        errors = validation_errors(error)
        summary = "; ".join(
            f"{e['source']}: {e['message']}" if e["source"] else e["message"] for e in errors
        )
        raise InvalidRequestError(f"The {what} is invalid: {summary}.", errors=errors) from None


def validation_errors(error: ValidationError) -> list[dict[str, Any]]:
    """A pydantic ``ValidationError`` as problem-document ``errors`` entries."""
    out = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or None
        message = str(item["msg"]).removeprefix("Value error, ")
        out.append({"source": location, "message": message})
    return out


class _Body(WharfModel):
    # Index-specific keys (PEP 694 lets clients add them) are ignored, not refused.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    meta: dict[str, Any] = Field(default_factory=dict)


class CreateSession(_Body):
    """``POST /upload/``: the release a session is for (checked as PEP 503/440 by the service)."""

    name: StrictStr = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    version: StrictStr = Field(min_length=1, max_length=MAX_VERSION_LENGTH)


class CreateFile(_Body):
    """``POST <session>/files``: a file upload session."""

    filename: StrictStr = Field(min_length=1, max_length=512)
    size: StrictInt = Field(gt=0, description="bytes")
    hashes: dict[str, Any]
    mechanism: StrictStr = Field(min_length=1)

    @field_validator("hashes", mode="before")
    @classmethod
    def _hashes(cls, value: Any) -> dict[str, str]:
        try:
            return normalize_hashes(value)
        except HashError as error:
            raise ValueError(str(error)) from None

    @property
    def part_size_hint(self) -> int | None:
        """wharf's own meta key: the part size the client would like (multipart)."""
        wharf = self.meta.get("_wharf")
        hint = wharf.get("part-size") if isinstance(wharf, dict) else None
        return hint if isinstance(hint, int) and not isinstance(hint, bool) else None


class Extend(_Body):
    """``POST <session>/extend`` and ``<file>/extend``."""

    extend_for: StrictInt = Field(alias="extend-for", ge=1)


class Yank(WharfModel):
    """``POST /admin/projects/<name>/yank`` (PEP 592)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    target: StrictStr = Field(min_length=1, max_length=500)
    reason: StrictStr | None = Field(default=None, max_length=500)
    yanked: StrictBool = True


class SetProjectStatus(WharfModel):
    """``PUT /admin/projects/<name>/status`` (PEP 792)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: ProjectStatus
    reason: StrictStr | None = Field(default=None, max_length=500)


class ProjectSettings(WharfModel):
    """``PUT /admin/projects/<name>/settings``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uploaders_cancel_own: StrictBool
