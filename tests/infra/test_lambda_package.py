"""`make package` ships bytecode compiled from the zip's own sources, never the tree's."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

from wharf_stack.lambda_package import add_bytecode

TAG = importlib.util.MAGIC_NUMBER


def build_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "import chalicelib.thing\n")
        archive.writestr("chalicelib/__init__.py", "")
        archive.writestr("chalicelib/thing.py", "VALUE = 2\n")
        # What chalice copies from a developer's working tree: stale bytecode.
        archive.writestr("chalicelib/__pycache__/thing.cpython-311.pyc", b"stale")
        archive.writestr("chalicelib/__pycache__/gone.cpython-311.pyc", b"stale")


def bytecode(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n.endswith(".pyc")}


def test_stale_bytecode_from_the_tree_is_replaced_and_every_module_compiled(tmp_path):
    archive = tmp_path / "deployment.zip"
    build_zip(archive)

    assert add_bytecode(archive) == 3

    compiled = bytecode(archive)
    assert sorted(compiled) == [
        "__pycache__/app.cpython-311.pyc",
        "chalicelib/__pycache__/__init__.cpython-311.pyc",
        "chalicelib/__pycache__/thing.cpython-311.pyc",
    ]
    for data in compiled.values():
        assert data[:4] == TAG
        assert int.from_bytes(data[4:8], "little") == 0b01  # PEP 552 unchecked hash


def test_a_second_run_gives_the_same_bytecode(tmp_path):
    archive = tmp_path / "deployment.zip"
    build_zip(archive)
    add_bytecode(archive)
    first = bytecode(archive)

    add_bytecode(archive)

    assert bytecode(archive) == first
