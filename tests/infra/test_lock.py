"""requirements.txt is the lock of requirements.in: every package the Lambda gets, pinned and
hashed, nothing else; `make lock` writes it (README, "The Lambda package")."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
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


def _inputs() -> list[Requirement]:
    text = (ROOT / "requirements.in").read_text()
    return [Requirement(line) for line in _logical_lines(text) if line]


def _lock() -> dict[str, tuple[Version, list[str]]]:
    pins = {}
    for line in _logical_lines((ROOT / "requirements.txt").read_text()):
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


def test_every_locked_package_is_pinned_and_hashed():
    lock = _lock()
    assert lock
    for name, (_, hashes) in lock.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name


def test_the_lock_satisfies_requirements_in_and_holds_exactly_what_it_needs():
    lock = _lock()
    inputs = _inputs()
    for requirement in inputs:
        version, _ = lock[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), requirement
    assert set(lock) == _closure(inputs), "requirements.in changed: run `make lock`"


def test_the_dev_venv_runs_the_locked_versions():
    for name, (version, _) in _lock().items():
        assert Version(metadata.version(name)) == version, name


def test_boto3_comes_from_the_lambda_runtime():
    assert not {"boto3", "botocore", "s3transfer"} & set(_lock())
    assert "make lock" in (ROOT / "requirements.txt").read_text()
