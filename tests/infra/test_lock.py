"""requirements.txt is the lock of requirements.in: every package the function zip gets,
pinned and hashed, nothing else; requirements-provenance.txt is the same for the provenance
layer, consistent with the first. `make lock` writes both (README, "The Lambda package")."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
CORE = "requirements"
PROVENANCE = "requirements-provenance"
# What only the provenance layer may bring: the attestation verifier and the renderer.
PROVENANCE_ONLY = {"pypi-attestations", "sigstore", "readme-renderer", "docutils", "pygments"}
# The Lambda's interpreter, as `make lock` resolves for it.
LAMBDA_ENV = {
    **default_environment(),
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def _logical_lines(text: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", text)
    return [line.split("#", 1)[0].strip() for line in joined.splitlines()]


def _inputs(lock: str = CORE) -> list[Requirement]:
    text = (ROOT / f"{lock}.in").read_text()
    return [Requirement(line) for line in _logical_lines(text) if line]


def _lock(lock: str = CORE) -> dict[str, tuple[Version, list[str]]]:
    pins = {}
    for line in _logical_lines((ROOT / f"{lock}.txt").read_text()):
        if not line:
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        assert version, f"not pinned: {line}"
        hashes = [o.split(":", 1)[1] for o in options if o.startswith("--hash=sha256:")]
        pins[canonicalize_name(name)] = (Version(version), hashes)
    return pins


def _closure(roots: list[Requirement]) -> set[str]:
    """Every distribution ``roots`` need on the Lambda, from the installed packages' metadata."""
    seen: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in roots]
    while todo:
        requirement, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen and not extras:
            continue
        seen.add(name)
        for raw in metadata.requires(name) or []:
            dependency = Requirement(raw)
            wanted = ["", *sorted(extras)]
            if dependency.marker and not any(
                dependency.marker.evaluate({**LAMBDA_ENV, "extra": extra}) for extra in wanted
            ):
                continue
            todo.append((dependency, frozenset(dependency.extras)))
    return seen


@pytest.mark.parametrize("name", [CORE, PROVENANCE])
def test_every_locked_package_is_pinned_and_hashed(name):
    lock = _lock(name)
    assert lock
    for package, (_, hashes) in lock.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), package


@pytest.mark.parametrize("name", [CORE, PROVENANCE])
def test_the_lock_satisfies_its_inputs_and_holds_exactly_what_they_need(name):
    lock = _lock(name)
    inputs = _inputs(name)
    for requirement in inputs:
        version, _ = lock[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), requirement
    assert set(lock) == _closure(inputs), f"{name}.in changed: run `make lock`"


def test_the_provenance_packages_are_not_in_the_function_zip():
    core = set(_lock(CORE))
    assert not core & PROVENANCE_ONLY
    assert not core & {canonicalize_name(r.name) for r in _inputs(PROVENANCE)}


def test_a_package_in_both_locks_has_one_version():
    """The layer leaves out what the function zip holds, so the zip's version is what runs."""
    core, provenance = _lock(CORE), _lock(PROVENANCE)
    shared = set(core) & set(provenance)
    assert {"cryptography", "pydantic", "pydantic-core"} <= shared
    for name in shared:
        assert core[name] == provenance[name], name


@pytest.mark.parametrize("name", [CORE, PROVENANCE])
def test_the_dev_venv_runs_the_locked_versions(name):
    for package, (version, _) in _lock(name).items():
        assert Version(metadata.version(package)) == version, package


def test_boto3_comes_from_the_lambda_runtime():
    for name in (CORE, PROVENANCE):
        assert not {"boto3", "botocore", "s3transfer"} & set(_lock(name))
        assert "make lock" in (ROOT / f"{name}.txt").read_text()
