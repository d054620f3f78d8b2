"""The layering the developer docs promise: services see ports only and take typed values;
the domain stays pure; the API and event handlers never touch boto3."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "chalicelib"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_services_import_no_adapter():
    offenders = {
        str(p.relative_to(ROOT)): sorted(i for i in _imports(p) if "adapters" in i)
        for p in (ROOT / "services").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_domain_imports_only_stdlib_pydantic_and_packaging():
    # trove_classifiers: the validator checks classifiers against the list PyPI uses.
    allowed_third_party = {"pydantic", "packaging", "trove_classifiers"}
    offenders = {}
    for path in (ROOT / "domain").rglob("*.py"):
        outside = {
            i
            for i in _imports(path)
            if not i.startswith(".")
            and i.split(".")[0] not in allowed_third_party
            and i.split(".")[0] not in __import__("sys").stdlib_module_names
        }
        if outside:
            offenders[str(path.relative_to(ROOT))] = sorted(outside)
    assert offenders == {}


def test_api_and_events_never_import_boto():
    for layer in ("api", "events"):
        for path in (ROOT / layer).rglob("*.py"):
            assert not {i for i in _imports(path) if i.startswith(("boto", "botocore"))}, path


def test_no_public_service_method_takes_object():
    offenders = []
    for path in (ROOT / "services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                args = [*node.args.args, *node.args.kwonlyargs]
                for arg in args:
                    if arg.annotation is not None and ast.unparse(arg.annotation) == "object":
                        offenders.append(f"{path.name}:{node.name}({arg.arg})")
    assert offenders == []
