"""The provenance layer (requirements-provenance.txt) reaches every function whose code can
verify attestations or render a description, in every stage; it holds only what the
function zip lacks (README, "The Lambda package")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from wharf_stack.lambda_package import layer_requirements

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
LAYER_VERSION_ARN = re.compile(r"arn:aws:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+")
# Each reaches the verifier or the renderer: the API through the legacy upload (attestations
# verified and the description rendered within the request, services/legacy.py), the
# storage events through validation and publishing, the sweeper through the repair that
# validates a stuck file again (services/repair.py).
LAYERED = {"api_handler", "on_storage_event", "expire_sessions"}


def _functions() -> set[str]:
    """Chalice's names for the app's functions: the API's, and one per event handler."""
    from app import app

    return {"api_handler"} | {source.name for source in app.event_sources}


@pytest.mark.parametrize("stage", sorted(CONFIG["stages"]))
def test_the_functions_that_use_it_get_the_layer(stage):
    functions = CONFIG["stages"][stage].get("lambda_functions", {})
    layered = {name: s["layers"] for name, s in functions.items() if s.get("layers")}
    assert set(layered) == LAYERED
    assert _functions() >= LAYERED
    # Said per function, where a reader looks for it, not inherited from the stage.
    assert "layers" not in CONFIG and "layers" not in CONFIG["stages"][stage]
    arns = {arn for layers in layered.values() for arn in layers}
    assert all(len(layers) == 1 for layers in layered.values())
    assert len(arns) == 1, "every function gets the same layer version"
    (arn,) = arns
    assert LAYER_VERSION_ARN.fullmatch(arn), arn
    assert arn.split(":")[6].endswith("-provenance")


def test_the_stages_have_their_own_layer():
    arns = {
        stage: {a for f in s.get("lambda_functions", {}).values() for a in f.get("layers", [])}
        for stage, s in CONFIG["stages"].items()
    }
    assert len({frozenset(a) for a in arns.values()}) == len(arns)


def test_the_layer_holds_what_the_function_zip_lacks_pinned_and_hashed():
    wanted = layer_requirements(
        ROOT / "requirements-provenance.txt", core_lock=ROOT / "requirements.txt"
    )
    assert {"sigstore", "pypi-attestations", "readme-renderer", "docutils"} <= set(wanted)
    # Shared packages come from the function zip, in the version both locks pin.
    assert not {"cryptography", "pydantic", "pydantic-core", "packaging"} & set(wanted)
    for line in wanted.values():
        assert "==" in line and "--hash=sha256:" in line, line
