"""Install benchmark: one package with 29 dependencies into a fresh target, from wharf's
local stack and from pypiserver on waitress serving the same wheels, with pip and uv,
cold (no cache) and warm (a populated cache). Printed as ratios wharf / pypiserver.

pip is run twice over: as on plain http, where it keeps no HTTP answers, and with
``--trusted-host``, where it keeps them as over HTTPS (a deployed index). There wharf's
answers are cacheable as PyPI's are (the files immutable, core metadata and pages with
ETags): a cold install writes each to pip's cache (with an fsync per file), and a warm
one downloads no file again. pypiserver's answers are mostly not kept.

    python -m bench.installs [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
DEPENDENCIES = 29


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_tree(directory: Path) -> list[Path]:
    """bench-root, which needs bench-dep-01 ... bench-dep-29: small, real wheels."""
    from tests.builders import metadata_text, wheel_bytes

    paths = []
    deps = [f"bench-dep-{i:02d}" for i in range(1, DEPENDENCIES + 1)]
    for name, requires in [("bench-root", deps), *((d, []) for d in deps)]:
        module = name.replace("-", "_")
        path = directory / f"{module}-1.0-py3-none-any.whl"
        path.write_bytes(
            wheel_bytes(module, "1.0", metadata=metadata_text(name, "1.0", requires=requires))
        )
        paths.append(path)
    return paths


def _wait_for(url: str, timeout: float = 30) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} never answered")


def _run(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def installers(index: str, work: Path) -> dict[str, Callable[[bool], float]]:
    """Each installer, run into a fresh target, cold (its own empty cache) or warm."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1")
    work.mkdir(exist_ok=True)
    caches = {"pip": work / "pip-cache", "uv": work / "uv-cache"}

    def pip(http_cache: bool) -> Callable[[bool], float]:
        def run(warm: bool) -> float:
            target = Path(tempfile.mkdtemp(dir=work))
            if not warm:
                shutil.rmtree(caches["pip"], ignore_errors=True)
            command = [sys.executable, "-m", "pip", "install", "--target", str(target)]
            command += ["--index-url", index, "--cache-dir", str(caches["pip"]), "bench-root"]
            if http_cache:
                # pip keeps HTTP answers only from HTTPS or trusted hosts: this makes the
                # local http behave as a deployed index over HTTPS does.
                command += ["--trusted-host", "127.0.0.1"]
            try:
                return _run(command, env)
            finally:
                shutil.rmtree(target, ignore_errors=True)

        return run

    def uv(warm: bool) -> float:
        target = Path(tempfile.mkdtemp(dir=work))
        if not warm:
            shutil.rmtree(caches["uv"], ignore_errors=True)
        command = [str(BIN / "uv"), "pip", "install", "--target", str(target)]
        command += ["--index-url", index, "--cache-dir", str(caches["uv"]), "bench-root"]
        command += ["--python", sys.executable]
        try:
            return _run(command, {**env, "UV_NO_PROGRESS": "1"})
        finally:
            shutil.rmtree(target, ignore_errors=True)

    return {"pip": pip(http_cache=False), "pip, HTTP cache": pip(http_cache=True), "uv": uv}


def measure(indexes: dict[str, str], work: Path, runs: int) -> dict[str, dict[str, float]]:
    """Median seconds per index and case; the indexes take turns within each run, so that
    the machine's load (±20% from one minute to the next here) weighs on them alike."""
    tools = {label: installers(index, work / label) for label, index in indexes.items()}
    times: dict[str, dict[str, list[float]]] = {label: {} for label in indexes}
    for name in ("pip", "pip, HTTP cache", "uv"):
        for label in indexes:
            tools[label][name](False)  # warm-up: first contact, imports
        # Over plain http pip keeps no HTTP answers: warm is cold there, but for built wheels.
        for warm in (False,) if name == "pip" else (False, True):
            case = f"{name} {'warm' if warm else 'cold'}"
            if warm:
                for label in indexes:
                    tools[label][name](True)  # populate the cache
            for _ in range(runs):
                for label in indexes:
                    times[label].setdefault(case, []).append(tools[label][name](warm))
    return {
        label: {case: statistics.median(values) for case, values in cases.items()}
        for label, cases in times.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    import requests

    from tests.e2e.conftest import start_stack

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        packages = work / "packages"
        packages.mkdir()
        wheels = build_tree(packages)

        port = _free_port()
        # pypiserver's own --server choices lack waitress; its WSGI app runs on it directly.
        serve = (
            "import sys, pypiserver, waitress; "
            "waitress.serve(pypiserver.app(roots=[sys.argv[1]], authenticate=[], "
            "password_file='.'), host='127.0.0.1', port=int(sys.argv[2]), threads=8, "
            "_quiet=True)"
        )
        pypiserver = subprocess.Popen(
            [sys.executable, "-c", serve, str(packages), str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        (work / "stack").mkdir()
        stack = start_stack(work / "stack", admin_token="wharf_bench-admin")
        try:
            _wait_for(f"http://127.0.0.1:{port}/simple/")
            admin = ("__token__", stack.admin_token)
            for wheel in wheels:
                from urllib3 import encode_multipart_formdata

                content = (wheel.name, wheel.read_bytes(), "application/octet-stream")
                body, content_type = encode_multipart_formdata(
                    [(":action", "file_upload"), ("protocol_version", "1"), ("content", content)]
                )
                reply = requests.post(
                    f"{stack.url}/legacy/",
                    data=body,
                    headers={"Content-Type": content_type},
                    auth=admin,
                    timeout=60,
                )
                reply.raise_for_status()
            host = stack.url.removeprefix("http://")
            wharf_index = f"http://__token__:{stack.admin_token}@{host}/simple/"
            medians = measure(
                {"pypiserver": f"http://127.0.0.1:{port}/simple/", "wharf": wharf_index},
                work,
                args.runs,
            )
            anchor, ours = medians["pypiserver"], medians["wharf"]
        finally:
            stack.stop()
            pypiserver.terminate()
            pypiserver.wait(timeout=10)
    print(
        f"Installs of bench-root and {DEPENDENCIES} dependencies (median of {args.runs}, "
        "pypiserver and wharf alternating):"
    )
    for case, seconds in ours.items():
        base = anchor[case]
        ratio = seconds / base
        print(f"  {case:20}  wharf {seconds:6.2f} s   pypiserver {base:6.2f} s   {ratio:4.2f}x")


if __name__ == "__main__":
    main()
