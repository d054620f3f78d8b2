"""What happens when a completed upload lands under the staging prefix."""

from __future__ import annotations

from ..domain.layout import STAGING_PREFIX
from ..observability import logger


class StagingService:
    def object_arrived(self, key: str, size: int) -> None:
        """Take note of a staged object; the validator (issue 3) takes over from here.

        Idempotent: an object seen twice is handled twice with the same outcome.
        """
        if not key.startswith(STAGING_PREFIX):
            logger.warning("object outside the staging prefix ignored", extra={"key": key})
            return
        logger.info("staged object received", extra={"key": key, "size": size})
