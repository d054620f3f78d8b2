"""The wharf client installs alone: `pip install ./client` into a venv that holds only what
the client declares, and the CI workflow's install step from the organisation's wharf.

No test here reaches PyPI. A fresh venv (no site-packages of this suite) gets a copy of the
installed distributions the client's declared requirements resolve to in this venv (and
pip, and setuptools to build it), so pip finds every dependency satisfied and is run with
no index, or only the local stack's. What it does not find is a failure: a dependency the
client imports but does not declare fails the import of its modules, and one it declares
but should not (the server's) shows up in the venv.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.e2e.conftest import BIN, run_wharf

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "client"
WORKFLOW = ROOT / "docs" / "examples" / "github-actions-release.yml"
# Importable in a venv that has the client means the client drags in the server.
SERVER_SIDE = [
    "chalice",
    "moto",
    "boto3",
    "botocore",
    "pydantic",
    "aws_lambda_powertools",
    "yaml",
    "chalicelib",
    "wharf_stack",
]


PROJECT = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]


def declared() -> list[str]:
    return list(PROJECT["dependencies"])


def closure(requirements: Iterable[str]) -> set[str]:
    """The distributions (as installed here) that ``requirements`` need, transitively."""
    found: set[str] = set()
    todo = [(Requirement(r), {""}) for r in requirements]
    while todo:
        requirement, extras = todo.pop()
        marker = requirement.marker
        if marker and not any(marker.evaluate({"extra": extra}) for extra in extras):
            continue
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found.add(name)
        wanted = {"", *requirement.extras}
        todo += [(Requirement(r), wanted) for r in importlib.metadata.requires(name) or []]
    return found


def fresh_venv(path: Path, distributions: Iterable[str]) -> Path:
    """A venv without this suite's packages, holding copies of ``distributions``."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = path / "lib" / version / "site-packages"
    for name in distributions:
        distribution = importlib.metadata.distribution(name)
        for file in distribution.files or []:
            if file.parts[0] == "..":  # scripts in bin/: run as `python -m` instead
                continue
            source = Path(str(distribution.locate_file(file)))
            if source.is_file():
                (site / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, site / file)
    return path


def clean_env(venv: Path, **extra: str) -> dict[str, str]:
    """The environment of a machine with this venv first on PATH and no pip settings of
    ours (a PIP_CONFIG_FILE of os.devnull: no configuration files either)."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV", "WHARF_", "UV_"))
    }
    path = [p for p in keep.get("PATH", "").split(os.pathsep) if Path(p) != BIN]
    keep.update(
        PATH=os.pathsep.join([str(venv / "bin"), *path]),
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_CACHE_DIR="1",
        PYPIRC="/nonexistent",
        **extra,
    )
    return keep


def run(command: list[str], env: dict[str, str], **options) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, **options
    )
    assert result.returncode == 0, (command, result.stdout, result.stderr)
    return result


def client_source(target: Path) -> Path:
    """client/ as a fresh clone has it (building in place would leave build/ behind)."""
    ignored = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__")
    shutil.copytree(CLIENT, target, ignore=ignored)
    return target


def build_wheel(source: Path, out: Path) -> Path:
    """The client's wheel, built by this venv's pip and setuptools (no build isolation: it
    would fetch setuptools from an index)."""
    options = ["--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(out)]
    run([sys.executable, "-m", "pip", "wheel", *options, str(source)], clean_env(BIN.parent))
    (wheel,) = out.glob("wharf_client-*.whl")
    return wheel


PROBE = """
import importlib, importlib.metadata, importlib.util, json, pkgutil, sys
import wharf_cli
modules = [m.name for m in pkgutil.walk_packages(wharf_cli.__path__, "wharf_cli.")]
for name in modules:
    if name != "wharf_cli.__main__":
        importlib.import_module(name)
print(json.dumps({
    "modules": modules,
    "server_side": [n for n in sys.argv[1:] if importlib.util.find_spec(n) is not None],
    "requires": importlib.metadata.requires("wharf-client"),
    "version": importlib.metadata.version("wharf-client"),
}))
"""


def test_pip_install_of_the_client_directory_brings_no_server_code(tmp_path):
    needed = closure(declared())
    assert not needed & {canonicalize_name(n) for n in SERVER_SIDE}
    venv = fresh_venv(tmp_path / "venv", [*needed, "pip", "setuptools"])
    env = clean_env(venv)
    python = str(venv / "bin" / "python")
    source = client_source(tmp_path / "client")
    installed = run(
        [python, "-m", "pip", "install", "--no-index", "--no-build-isolation", str(source)], env
    )
    assert "Successfully installed wharf-client-" in installed.stdout

    shown = run(["wharf", "--help"], env)
    assert shown.stdout.startswith("usage: wharf ")
    for command in ("upload", "session", "token", "yank", "project", "publisher"):
        assert command in shown.stdout
    probe = json.loads(run([python, "-c", PROBE, *SERVER_SIDE], env, cwd=tmp_path).stdout)
    assert probe["server_side"] == []
    assert "wharf_cli.upload_command" in probe["modules"]  # every module imported
    names = {Requirement(r).name: Requirement(r) for r in probe["requires"]}
    assert set(names) == {"requests", "urllib3", "packaging", "rich", "id", "keyring"}
    assert str(names["keyring"].marker) == 'extra == "keyring"'  # optional, as in twine
    run([python, "-m", "pip", "check"], env)


def install_step() -> str:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["build"]["steps"]
    (step,) = [s for s in steps if s.get("name") == "Install the wharf client"]
    return str(step["run"])


def test_a_ci_job_installs_the_client_from_its_wharf_as_the_workflow_does(stack, tmp_path):
    wheel = build_wheel(client_source(tmp_path / "client"), tmp_path / "wheels")
    published = run_wharf(stack, "upload", str(wheel))  # wharf accepts its own client
    assert published.returncode == 0, published.stdout + published.stderr
    reader = json.loads(run_wharf(stack, "token", "create", "--role", "read", "--json").stdout)
    uploader = json.loads(
        run_wharf(stack, "token", "create", "--role", "upload", "--project", "x", "--json").stdout
    )

    venv = fresh_venv(tmp_path / "venv", [*closure(declared()), "pip"])
    host = stack.url.removeprefix("http://")
    env = clean_env(
        venv,
        WHARF_INDEX_URL=f"http://__token__:{reader['token']}@{host}/simple/",
        # The step's second pip finds the dependencies here; were one missing, it would
        # fail on this index, where a runner's pip would go to PyPI.
        PIP_INDEX_URL="http://127.0.0.1:9/simple/",
        PIP_RETRIES="0",
    )
    steps = run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", install_step()], env)
    assert f"Successfully installed wharf-client-{PROJECT['version']}" in steps.stdout
    assert reader["token"] not in steps.stdout + steps.stderr  # pip hides the password

    listed = run(
        ["wharf", "session", "list", "--url", stack.url, "--token", uploader["token"]], env
    )
    assert listed.stdout.startswith(("No open sessions.", "ID "))
    version = run([str(venv / "bin" / "python"), "-m", "wharf_cli", "--version"], env)
    assert version.stdout.strip() == f"wharf {PROJECT['version']}"


def test_the_server_never_imports_the_client_or_the_stack():
    sources = [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]
    found = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} {name}"
                for name in names
                if name.split(".")[0] in ("wharf_cli", "wharf_stack")
            ]
    assert found == []
