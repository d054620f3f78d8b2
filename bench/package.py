"""The Lambda package: its size and how long `import app` takes from it, cold.

    python -m bench.package [--stage dev] [--runs 5]

Builds the deployment package as `make package` does (`chalice package`, then bytecode
added by wharf_stack.lambda_package, and the provenance layer beside it), unpacks the
function zip, and imports `app` in
a clean venv (no site-packages) that holds exactly the package's contents, plus — when
the package leaves boto3 out — the boto3 the Lambda Python runtime provides, copied
from this venv. Before each of the fresh processes the package's files are evicted
from the page cache (posix_fadvise DONTNEED), so each import reads them from disk as a
new Lambda sandbox does. The anchor, measured in the same run, is `import boto3` alone.
The issue's starting point was a 21.5 MB zip and 0.63 s; the goal is a zip under 10 MB and
`import app` under 300 ms. The layer is not imported at start (tests/unit/test_provenance.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from wharf_stack.lambda_package import add_bytecode, build_layer, stage_environment

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
GOAL_MB, GOAL_S = 10, 0.300


def layered_functions(stage: str) -> list[str]:
    """The stage's functions that get a layer (.chalice/config.json)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    functions = config["stages"][stage].get("lambda_functions", {})
    return sorted(name for name, settings in functions.items() if settings.get("layers"))


def build(stage: str, out: Path) -> tuple[Path, Path]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run(
        [str(BIN / "chalice"), "package", "--stage", stage, str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    archive = out / "deployment.zip"
    add_bytecode(archive, stage_environment(stage))
    layer = out / "provenance-layer.zip"
    build_layer(
        layer, lock=ROOT / "requirements-provenance.txt", core_lock=ROOT / "requirements.txt"
    )
    return archive, layer


def unzipped_size(archive: Path) -> int:
    with zipfile.ZipFile(archive) as unpacked:
        return sum(m.file_size for m in unpacked.infolist())


def runtime_layer(target: Path) -> None:
    """The boto3 that the Lambda Python runtime ships, for a package that leaves it out."""
    import importlib.util

    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec and spec.origin, name
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, target / name)
        else:
            shutil.copy2(origin, target / origin.name)


def evict(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


# What an install's sandbox does before its first call to AWS: the import, then the AWS
# clients and the services an install's requests use (tests/unit/test_cold_start.py runs
# those requests); the rest are made on first use.
INSTALL_START = (
    "import app; from chalicelib.wiring import container; wharf = container(); "
    "wharf.tokens, wharf.index, wharf.downloads, wharf.pages"
)


def timed_import(
    python: Path, module: str, path: list[Path], evicted: list[Path], environment: dict[str, str]
) -> float:
    return timed(python, f"import {module}", path, evicted, environment)


def timed(
    python: Path, statement: str, path: list[Path], evicted: list[Path], environment: dict[str, str]
) -> float:
    """``statement`` in a fresh process, the files of ``evicted`` read from disk."""
    for directory in evicted:
        evict(directory)
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {
        **environment,
        "PYTHONPATH": os.pathsep.join(map(str, path)),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [str(python), "-c", code], cwd=path[0], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return float(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        archive, layer_zip = build(args.stage, work / "out")
        task = work / "task"
        with zipfile.ZipFile(archive) as unpacked:
            members = unpacked.infolist()
            unpacked.extractall(task)
        unzipped = sum(m.file_size for m in members)
        pyc = sum(1 for m in members if m.filename.endswith(".pyc"))
        layer = work / "runtime"
        layer.mkdir()
        vendored = (task / "boto3").exists()
        if not vendored:
            runtime_layer(layer)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(work / "venv")])
        python = work / "venv" / "bin" / "python"
        environment = stage_environment(args.stage)
        path = [task, layer]

        def median_import(module: str) -> float:
            return statistics.median(
                timed_import(python, module, path, [task, layer], environment)
                for _ in range(args.runs)
            )

        app = median_import("app")
        boto = median_import("boto3")
        install = statistics.median(
            timed(python, INSTALL_START, path, [task, layer], environment) for _ in range(args.runs)
        )
        size = archive.stat().st_size
        layer_size, layer_unzipped = layer_zip.stat().st_size, unzipped_size(layer_zip)
    print(f"Lambda package ({args.stage}):")
    print(
        f"  function zip {size / 1e6:.1f} MB (goal < {GOAL_MB} MB), unzipped "
        f"{unzipped / 1e6:.1f} MB, {len(members)} files ({pyc} .pyc); boto3 "
        f"{'vendored' if vendored else 'from the runtime'}"
    )
    print(
        f"  provenance layer zip {layer_size / 1e6:.1f} MB, unzipped "
        f"{layer_unzipped / 1e6:.1f} MB; attached to: "
        f"{', '.join(layered_functions(args.stage)) or 'no function'}"
    )
    print(
        f"  import app, cold: {app:.3f} s (median of {args.runs}; goal < {GOAL_S:.3f} s); "
        f"import boto3 alone: {boto:.3f} s; app = {app / boto:.2f}x boto3"
    )
    print(
        f"  an install's sandbox before its first call to AWS (import app, the AWS clients, "
        f"the tokens', index and download services), cold: {install:.3f} s"
    )
    print("  (the issue's starting point: 21.5 MB zip, 0.63 s)")


if __name__ == "__main__":
    main()
