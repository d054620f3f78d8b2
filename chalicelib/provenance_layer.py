"""The provenance layer: the attestation verifier's and the long-description renderer's
libraries (requirements-provenance.in), shipped as a Lambda layer beside the function zip
and attached only to the functions that use them (README, "The Lambda package").

A function deployed without it must not half-work: a file with attestations would fail in
the middle of its validation and a publish would store its release page without its
description. So the storage-event handler checks for the layer before it touches anything:
without it every delivery fails with an error log naming what is missing, SQS delivers the
message again and then to the dead-letter queue (the Lambda-errors and DLQ alarms fire),
nothing is accepted, refused or published, and a redrive once the layer is attached
finishes the work. The verifier and the renderer check too, for the other functions that
reach them: a legacy upload with attestations then fails with a 500 before anything is
stored, and the sweeper's repair of a stuck attested file fails (and is retried on the
next sweep).
"""

from __future__ import annotations

import importlib.util

from .observability import logger

# The top-level modules of requirements-provenance.in (one is enough to tell a layer is
# attached; each is checked so that the log names a layer built from a stale lock too).
MODULES = ("pypi_attestations", "sigstore", "readme_renderer")
_present = False


class ProvenanceLayerMissing(RuntimeError):
    """The function runs without the provenance layer: a deployment error, not a bad file."""


def require_provenance_layer() -> None:
    """Raise ``ProvenanceLayerMissing`` (after an error log) unless every module of the layer
    can be imported. Looks the modules up without importing them; checked once per sandbox."""
    global _present
    if _present:
        return
    missing = [name for name in MODULES if importlib.util.find_spec(name) is None]
    if missing:
        logger.error(
            "provenance layer missing: attach the wharf provenance layer to this function "
            "(.chalice/config.json, lambda_functions.<function>.layers; README, "
            "'The Lambda package')",
            extra={"missing_modules": missing},
        )
        raise ProvenanceLayerMissing(
            f"the provenance layer is not attached (missing: {', '.join(missing)})"
        )
    _present = True
