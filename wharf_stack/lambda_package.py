"""Finish the Lambda package `chalice package` built: bytecode for the cold start, and the
provenance layer.

    python -m wharf_stack.lambda_package build/package/deployment.zip \\
        [--layer build/package/provenance-layer.zip] [--stage dev]

**Bytecode.** Chalice ships sources only, and Lambda's /var/task is read-only, so without
bytecode every cold start compiles every module it imports (the issue measured 0.63 s for
`import app`, 0.24 s with bytecode). Chalice has no hook for it: its `vendor/` directory is
copied into the zip as is, but bytecode kept there would outlive the sources it was
compiled from. So `make package` compiles the zip's own modules right after building it.
The .pyc files are ``unchecked-hash`` (PEP 552): compiled from exactly these sources in
the same step, so Python need not stat or hash the sources, and zip timestamps do not
matter.

Only the modules a cold start imports get bytecode: the build imports `app` from the
unpacked zip (the stage's environment, boto3 from this venv as the runtime provides it)
and records which of the zip's modules were loaded (~200). Bytecode for every module would
add ~4 MB to the zip for modules most sandboxes never import; one that does (the mint
path's cryptography, the event handler's validators) is compiled once, in memory, when
first imported. ``PYTHONPYCACHEPREFIX`` is not set: Python then looks for bytecode only
under the prefix, ignoring what is shipped in ``__pycache__``, and a new sandbox's /tmp is
empty, so every cold start would compile wharf's own modules (measured: `import app`
1.1 s instead of 0.3 s); one process lives as long as its sandbox, so what it wrote there
would not be read again.

The trade-off on tracebacks: wharf's own modules (app.py, chalicelib/) keep their sources
and get their bytecode in ``__pycache__``, so their tracebacks show the failing line,
underlined. A third-party module that gets bytecode ships *only* it (a sourceless
``module.pyc`` where ``module.py`` was), compiled without column tables
(``-X no_debug_ranges``: there is no source line to underline): its traceback frames
still name the file and line, which the locked version pins down (requirements.txt), but
show no source text, and ``inspect.getsource`` fails on it (none of the libraries
imported at start reads its own sources). Sources plus bytecode were 10.4 MB; this is
what keeps the zip under its 10 MB goal, with the libraries' shared objects stripped of
their symbol tables (``strip --strip-unneeded``, as serverless-python-requirements does:
cryptography's is 14 MB unstripped, 0.5 MB of the zip; a native crash's backtrace then
shows addresses, not function names). Zip entries get a fixed date: the same inputs give
the same zips.

**The provenance layer** (``--layer``): the packages of requirements-provenance.txt that the
function zip does not already hold, installed for the Lambda's platform under ``python/``
(where Lambda puts a layer on ``sys.path``), every module with bytecode (a layer is not
imported at start, and its size is not the function's). It is attached only to the
functions whose code can verify attestations or render a description
(.chalice/config.json; chalicelib/provenance_layer.py says what happens without it).
"""

from __future__ import annotations

import argparse
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
# The Lambda runtime the package is for (.chalice/config.json leaves it to Chalice, which
# picks the deploying interpreter's version): bytecode is specific to one minor version.
LAMBDA_PYTHON = (3, 11)
TASK = "/var/task"  # where Lambda unpacks the function zip; tracebacks name files there
LAYER = "/opt/python"  # where a layer's python/ directory lands
OWN = ("app.py", "chalicelib/")  # wharf's own code: sources kept beside the bytecode
# The Lambda's platform, as `make lock` resolves for it (python3.11 runs on Amazon Linux 2).
PLATFORM = ("manylinux2014_x86_64",)
FAKE_AWS = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "package",
    "AWS_SECRET_ACCESS_KEY": "package",
}
_MODULES_LOADED = """
import json, sys
import app
print(json.dumps(sorted(
    m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)
)))
"""


def is_stale(name: str, names: set[str]) -> bool:
    """Bytecode to compile afresh: any ``__pycache__`` entry, and a .pyc beside its source.
    A sourceless .pyc is a library module an earlier run compiled: kept as it is."""
    return "/__pycache__/" in f"/{name}" or (name.endswith(".pyc") and name[:-1] in names)


def stage_environment(stage: str) -> dict[str, str]:
    """The environment the stage's Lambda runs with (.chalice/config.json), as Lambda sets it
    (with placeholder credentials: nothing here calls AWS)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
        **FAKE_AWS,
    }


def modules_loaded_at_start(tree: Path, environment: dict[str, str]) -> set[str]:
    """The zip's modules (paths relative to ``tree``) that `import app` loads."""
    env = {
        **environment,
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(tree),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", _MODULES_LOADED],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"`import app` failed in the package:\n{result.stderr}")
    root = tree.resolve()
    loaded = set()
    for name in json.loads(result.stdout.splitlines()[-1]):
        path = Path(name).resolve()
        if path.suffix == ".py" and path.is_relative_to(root):
            loaded.add(path.relative_to(root).as_posix())
    return loaded


def _compile(source: Path, target: Path, shown_as: str) -> None:
    py_compile.compile(
        str(source),
        cfile=str(target),
        dfile=shown_as,
        doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )


_COMPILE_JOBS = """
import json, py_compile, sys
for source, target, shown in json.load(sys.stdin):
    py_compile.compile(source, cfile=target, dfile=shown, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
"""


def _compile_without_columns(jobs: list[tuple[Path, Path, str]]) -> None:
    """Compile without the column tables (``-X no_debug_ranges``): for sourceless modules,
    whose tracebacks cannot underline a source they do not have; ~20% smaller bytecode."""
    encoded = json.dumps([[str(s), str(t), shown] for s, t, shown in jobs])
    result = subprocess.run(
        [sys.executable, "-X", "no_debug_ranges", "-c", _COMPILE_JOBS],
        input=encoded,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"compiling the package's libraries failed:\n{result.stderr}")


def _cached(relative: str) -> str:
    """``pkg/mod.py`` -> ``pkg/__pycache__/mod.cpython-311.pyc``."""
    directory, _, name = relative.rpartition("/")
    tag = sys.implementation.cache_tag
    cached = f"__pycache__/{name[:-3]}.{tag}.pyc"
    return f"{directory}/{cached}" if directory else cached


def _add(archive: zipfile.ZipFile, name: str, path: Path) -> None:
    """A file added with a fixed date: two builds of the same inputs give the same zip."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
    archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)


def _is_shared_library(name: str) -> bool:
    return name.endswith(".so") or ".so." in name.rpartition("/")[2]


def _stripped(data: bytes) -> bytes:
    """A shared library without its symbol tables (``strip --strip-unneeded``: what the
    dynamic loader needs stays). Unchanged where binutils' strip is missing or refuses."""
    strip = shutil.which("strip")
    if strip is None:
        return data
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "library.so"
        library.write_bytes(data)
        result = subprocess.run(
            [strip, "--strip-unneeded", str(library)], capture_output=True, text=True
        )
        if result.returncode != 0:
            return data
        smaller = library.read_bytes()
    return smaller if len(smaller) < len(data) else data


def _check_python() -> None:
    if sys.version_info[:2] != LAMBDA_PYTHON:
        raise SystemExit(
            f"bytecode for the Lambda runtime needs Python {'.'.join(map(str, LAMBDA_PYTHON))}"
        )


def add_bytecode(archive: Path, environment: dict[str, str] | None = None) -> int:
    """Compile wharf's own modules and the libraries' modules that `import app` loads;
    returns how many.

    wharf's own get ``__pycache__`` bytecode beside their sources, every one of them: most
    are imported on first use, by the request that needs them, and would otherwise be
    compiled by every sandbox's first such request. A library's module loaded at start is
    replaced by its sourceless bytecode. Any bytecode already in the zip is dropped."""
    _check_python()
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        with zipfile.ZipFile(archive) as source:
            # Chalice copies chalicelib/ as it lies, with whatever __pycache__ the working
            # tree holds: bytecode of other versions of the sources, compiled elsewhere.
            # It is dropped and the modules compiled afresh (which also makes a second run
            # on the same zip give the same zip).
            names = set(source.namelist())
            kept = [i for i in source.infolist() if not is_stale(i.filename, names)]
            for info in kept:
                source.extract(info, tree)
        loaded = modules_loaded_at_start(tree, environment or {**FAKE_AWS})
        sources = (path.relative_to(tree).as_posix() for path in tree.rglob("*.py"))
        own = {relative for relative in sources if relative.startswith(OWN)}
        compiled: dict[str, Path] = {}  # name in the zip -> compiled file
        sourceless: set[str] = set()
        libraries: list[tuple[Path, Path, str]] = []
        for relative in sorted(loaded | own):
            shown = f"{TASK}/{relative}"
            if relative.startswith(OWN):
                name = _cached(relative)
                target = Path(tmp) / "bytecode" / name
                _compile(tree / relative, target, shown)
            else:
                name = relative + "c"  # sourceless: found where the .py was
                sourceless.add(relative)
                target = Path(tmp) / "bytecode" / name
                target.parent.mkdir(parents=True, exist_ok=True)
                libraries.append((tree / relative, target, shown))
            compiled[name] = target
        _compile_without_columns(libraries)
        rewritten = Path(tmp) / "deployment.zip"
        with (
            zipfile.ZipFile(archive) as source,
            zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target,
        ):
            for info in kept:
                if info.filename in sourceless:
                    continue
                data = source.read(info)
                if _is_shared_library(info.filename):
                    data = _stripped(data)
                target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
            for name, path in sorted(compiled.items()):
                _add(target, name, path)
        shutil.move(rewritten, archive)
    return len(compiled)


def _locked(lock: Path) -> dict[str, str]:
    """A lock's requirements, one logical line (pin and hashes) per canonical name."""
    joined = re.sub(r"\\\n", " ", lock.read_text())
    entries = {}
    for line in joined.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name = line.split("==", 1)[0]
            entries[canonicalize_name(name)] = line
    return entries


def layer_requirements(lock: Path, core_lock: Path) -> dict[str, str]:
    """``lock``'s pins (with their hashes) for the packages ``core_lock`` does not hold."""
    core = _locked(core_lock)
    return {name: line for name, line in _locked(lock).items() if name not in core}


def build_layer(layer: Path, *, lock: Path, core_lock: Path) -> int:
    """The provenance layer zip: ``lock``'s packages that ``core_lock`` lacks (the function
    zip's version of a shared package is the one both see), under ``python/``, with
    bytecode for every module. Returns how many packages it holds."""
    _check_python()
    wanted = layer_requirements(lock, core_lock)
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "layer.txt"
        requirements.write_text("\n".join(wanted.values()) + "\n")
        site = Path(tmp) / "python"
        platform = [arg for tag in PLATFORM for arg in ("--platform", tag)]
        installed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--no-deps",
                "--require-hashes",
                "--only-binary=:all:",
                "--implementation",
                "cp",
                "--python-version",
                ".".join(map(str, LAMBDA_PYTHON)),
                *platform,
                "--target",
                str(site),
                "-r",
                str(requirements),
            ],
            capture_output=True,
            text=True,
        )
        if installed.returncode != 0:
            raise SystemExit(f"the provenance layer could not be installed:\n{installed.stderr}")
        shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts: not for Lambda
        for path in sorted(site.rglob("*")):
            if path.is_file() and _is_shared_library(path.name):
                path.write_bytes(_stripped(path.read_bytes()))
        for path in sorted(site.rglob("*.py")):
            relative = path.relative_to(site).as_posix()
            _compile(path, site / _cached(relative), f"{LAYER}/{relative}")
        layer.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(layer, "w", zipfile.ZIP_DEFLATED) as target:
            for path in sorted(site.rglob("*")):
                if path.is_file():
                    _add(target, path.relative_to(site.parent).as_posix(), path)
    return len(wanted)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path, help="the deployment.zip chalice package wrote")
    parser.add_argument("--layer", type=Path, help="where to write the provenance layer zip")
    parser.add_argument("--stage", default="dev", help="whose environment `import app` sees")
    args = parser.parse_args(argv)
    count = add_bytecode(args.archive, stage_environment(args.stage))
    print(f"{args.archive}: {count} modules imported at start compiled to bytecode")
    if args.layer:
        packages = build_layer(
            args.layer,
            lock=ROOT / "requirements-provenance.txt",
            core_lock=ROOT / "requirements.txt",
        )
        print(f"{args.layer}: the provenance layer, {packages} packages")


if __name__ == "__main__":
    main()
