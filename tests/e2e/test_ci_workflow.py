"""docs/examples/github-actions-release.yml, step by step, against the local stack.

Every `run:` step runs as GitHub Actions would run it (bash -eo pipefail), with the
workflow's environment; the matrix jobs run at the same moment. Two things stand in
for the runner: `uses:` steps (checkout, setup-python) are the venv this suite runs
in, and the "Build wheels" step, which cannot build three platforms' wheels on one
machine, is replaced by writing each platform's wheel into that job's dist/.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from tests.builders import metadata_text, wheel_bytes
from tests.e2e.conftest import BIN, run_wharf

pytestmark = pytest.mark.e2e
WORKFLOW = Path(__file__).parents[2] / "docs" / "examples" / "github-actions-release.yml"
VERSION = "1.0"
PLATFORMS = {
    "ubuntu-latest": "manylinux_2_17_x86_64",
    "windows-latest": "win_amd64",
    "macos-latest": "macosx_11_0_arm64",
}
# What the test supplies for the workflow's ${{ }} expressions.
SUPPLIED = {"WHARF_URL", "WHARF_INDEX_URL", "WHARF_TOKEN"}


def platform_wheel(os_name: str) -> tuple[str, bytes]:
    tag = f"py3-none-{PLATFORMS[os_name]}"
    data = wheel_bytes(
        "acme_tools",
        VERSION,
        metadata=metadata_text("acme-tools", VERSION),
        files={"acme_tools/__init__.py": f"BUILT_ON = {os_name!r}\n".encode()},
        wheel_file=f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: false\nTag: {tag}\n",
    )
    return f"acme_tools-{VERSION}-{tag}.whl", data


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


class Runner:
    """One job's machine: a working directory, the workflow's environment, and a site
    directory that pip installs into (so the suite's own venv stays as it is)."""

    def __init__(self, stack, workflow: dict, token: str, home: Path) -> None:
        home.mkdir()
        self.home = home
        self.site = home / "site"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WHARF_", "PIP_"))}
        for name, value in workflow["env"].items():
            if "${{" not in str(value):
                env[name] = str(value)
        env.update(
            WHARF_URL=stack.url,
            WHARF_TOKEN=token,
            # The wharf client is installed in this venv: pip finds it satisfied and asks no
            # index (test_client_install.py runs that step in a venv without the client).
            WHARF_INDEX_URL=f"{stack.url}/simple/",
            GITHUB_REF_NAME=f"v{VERSION}",
            PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
            PYPIRC="/nonexistent",
            PYTHONPATH=str(self.site),
            PIP_NO_CACHE_DIR="1",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
        )
        self.env = env

    def run(self, step: dict) -> subprocess.CompletedProcess:
        env = dict(self.env)
        if step["name"] != "Install the wharf client":
            env["PIP_TARGET"] = str(self.site)
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=self.home,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def job(self, steps: list[dict]) -> list[subprocess.CompletedProcess]:
        results = []
        for step in steps:
            if "uses" in step:
                continue
            result = self.run(step)
            results.append(result)
            assert result.returncode == 0, (step["name"], result.stdout, result.stderr)
        return results


def test_the_workflow_is_runnable_as_written(workflow):
    jobs = workflow["jobs"]
    assert list(jobs) == ["build", "test", "publish"]
    assert jobs["test"]["needs"] == "build" and jobs["publish"]["needs"] == "test"
    assert jobs["build"]["strategy"]["matrix"]["os"] == list(PLATFORMS)
    expressions = {k for k, v in workflow["env"].items() if "${{" in str(v)}
    assert expressions == SUPPLIED
    for job in jobs.values():
        for step in job["steps"]:
            if "uses" in step:
                assert step["uses"].split("@")[0] in ("actions/checkout", "actions/setup-python")
            else:
                assert "${{" not in step["run"], step["name"]


def test_build_matrix_stage_test_from_stage_then_publish(stack, workflow, tmp_path):
    created = run_wharf(
        stack, "token", "create", "--role", "upload", "--project", "acme-tools", "--json"
    )
    token = json.loads(created.stdout)["token"]
    reader = json.loads(run_wharf(stack, "token", "create", "--role", "read", "--json").stdout)
    jobs = workflow["jobs"]

    # build: three matrix jobs at once, each with its own platform's wheel.
    build_steps = jobs["build"]["steps"]
    assert [s["name"] for s in build_steps if "run" in s] == [
        "Install the wharf client",
        "Build wheels",
        "Stage the wheels",
    ]

    def build(os_name: str) -> list[subprocess.CompletedProcess]:
        runner = Runner(stack, workflow, token, tmp_path / f"build-{os_name}")
        filename, data = platform_wheel(os_name)
        (runner.home / "dist").mkdir()
        (runner.home / "dist" / filename).write_bytes(data)
        return runner.job([s for s in build_steps if s.get("name") != "Build wheels"])

    with ThreadPoolExecutor(max_workers=len(PLATFORMS)) as pool:
        outputs = list(pool.map(build, PLATFORMS))
    staged = [results[-1].stdout for results in outputs]
    sessions = {
        line.split("session ")[-1]
        for out in staged
        for line in out.splitlines()
        if line.startswith("staged acme-tools 1.0")
    }
    assert len(sessions) == 1, staged  # all three jobs joined one session
    index = f"{stack.url}/simple/acme-tools/"
    auth = ("__token__", reader["token"])
    assert requests.get(index, auth=auth, timeout=30).status_code == 404  # nothing public

    # test: install from the stage URL, and import what was installed.
    tester = Runner(stack, workflow, token, tmp_path / "test")
    results = tester.job(jobs["test"]["steps"])
    assert "Successfully installed acme-tools-1.0" in results[1].stdout
    installed = (tester.site / "acme_tools" / "__init__.py").read_text()
    assert installed == "BUILT_ON = 'ubuntu-latest'\n"  # pip chose this platform's wheel

    # publish: every wheel at once.
    publisher = Runner(stack, workflow, token, tmp_path / "publish")
    results = publisher.job(jobs["publish"]["steps"])
    assert ": published" in results[-1].stdout
    page = requests.get(
        index,
        auth=auth,
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=30,
    ).json()
    assert sorted(f["filename"] for f in page["files"]) == sorted(
        platform_wheel(os_name)[0] for os_name in PLATFORMS
    )
    left = json.loads(run_wharf(stack, "session", "list", "--json", token=token).stdout)
    assert [s for s in left["sessions"] if s["name"] == "acme-tools"] == []
