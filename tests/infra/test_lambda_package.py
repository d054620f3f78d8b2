"""`make package` ships bytecode compiled from the zip's own sources, never the tree's: for
all of wharf's modules, beside their sources (most are imported on first use), and for the
libraries' modules `import app` loads, in their place."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

from wharf_stack.lambda_package import add_bytecode

TAG = importlib.util.MAGIC_NUMBER


def build_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "import chalicelib.thing\nimport lib\n")
        archive.writestr("lib/__init__.py", "from . import used\n")
        archive.writestr("lib/used.py", "VALUE = 1\n")
        archive.writestr("lib/unused.py", "VALUE = 3\n")
        archive.writestr("lib/_native.so", b"not a shared library strip can read")
        archive.writestr("chalicelib/__init__.py", "")
        archive.writestr("chalicelib/thing.py", "VALUE = 2\n")
        archive.writestr("chalicelib/later.py", "VALUE = 4\n")  # imported on first use
        # What chalice copies from a developer's working tree: stale bytecode.
        archive.writestr("chalicelib/__pycache__/thing.cpython-311.pyc", b"stale")
        archive.writestr("chalicelib/__pycache__/gone.cpython-311.pyc", b"stale")


def bytecode(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n.endswith(".pyc")}


def test_stale_bytecode_is_replaced_wharfs_modules_and_the_libraries_loaded_compiled(tmp_path):
    archive = tmp_path / "deployment.zip"
    build_zip(archive)

    assert add_bytecode(archive) == 6

    compiled = bytecode(archive)
    assert sorted(compiled) == [
        "__pycache__/app.cpython-311.pyc",
        "chalicelib/__pycache__/__init__.cpython-311.pyc",
        "chalicelib/__pycache__/later.cpython-311.pyc",
        "chalicelib/__pycache__/thing.cpython-311.pyc",
        "lib/__init__.pyc",
        "lib/used.pyc",
    ]
    with zipfile.ZipFile(archive) as built:
        sources = sorted(n for n in built.namelist() if n.endswith(".py"))
        native = built.read("lib/_native.so")
    # wharf's own sources stay for its tracebacks; a library's loaded module is bytecode
    # only; a library's module not loaded at start stays a source.
    assert sources == [
        "app.py",
        "chalicelib/__init__.py",
        "chalicelib/later.py",
        "chalicelib/thing.py",
        "lib/unused.py",
    ]
    assert native == b"not a shared library strip can read"  # shipped as it was
    for data in compiled.values():
        assert data[:4] == TAG
        assert int.from_bytes(data[4:8], "little") == 0b01  # PEP 552 unchecked hash


def test_the_package_imports_from_its_bytecode(tmp_path):
    archive = tmp_path / "deployment.zip"
    build_zip(archive)
    add_bytecode(archive)
    with zipfile.ZipFile(archive) as built:
        built.extractall(tmp_path / "task")
    code = "import app, lib, lib.unused; print(lib.used.__file__, lib.unused.VALUE)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path / "task",
        env={"PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == [str(tmp_path / "task" / "lib" / "used.pyc"), "3"]


def test_a_second_run_gives_the_same_bytecode(tmp_path):
    archive = tmp_path / "deployment.zip"
    build_zip(archive)
    add_bytecode(archive)
    first = bytecode(archive)

    add_bytecode(archive)

    assert bytecode(archive) == first
