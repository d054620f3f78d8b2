"""The base of wharf's pydantic models: each builds its validator on first use.

Building them all at import was ~20 ms of every cold start (``python -m bench.package``),
and a sandbox uses few of them: an install's requests touch tokens and the catalog, never
reviews, trusted publishers or the audit trail's queries. A model is built once per
process, the first time it validates or serialises (pydantic's ``defer_build``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WharfModel(BaseModel):
    model_config = ConfigDict(defer_build=True)
