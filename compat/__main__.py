"""`python -m compat`: publish real PyPI releases to local wharf stacks and report every
refusal (docs/compat.md)."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

# Only the standard library at import time: `make compat-clean` runs without the venv.
from .model import TWINE, UPLOAD2

CHECKOUT = Path(__file__).resolve().parent.parent
DEFAULT_LIST = Path(__file__).with_name("releases.toml")


def default_cache() -> Path:
    return Path(
        os.environ.get("WHARF_COMPAT_CACHE") or Path(tempfile.gettempdir()) / "wharf-compat"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m compat", description=__doc__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="the compatibility run (the default command)")
    run.add_argument("--list", type=Path, default=DEFAULT_LIST, help="the release list (TOML)")
    run.add_argument(
        "--group", action="append", default=[], help="only this group of the list (repeatable)"
    )
    run.add_argument(
        "--door",
        action="append",
        choices=[UPLOAD2, TWINE],
        help="only this way in (repeatable; default: both)",
    )
    run.add_argument("--no-install", action="store_true", help="skip the pip and uv installs")
    run.add_argument("--jobs", type=int, default=3, help="projects published at once (default 3)")
    run.add_argument(
        "--code",
        type=Path,
        default=CHECKOUT,
        help="a wharf checkout whose server and client to test (default: this one)",
    )
    run.add_argument(
        "--max-stack-memory",
        type=float,
        default=8.0,
        metavar="GIB",
        help="stop a stack (and the run) whose memory passes this (default 8 GiB)",
    )
    run.add_argument(
        "--files-per-stack",
        type=int,
        default=60,
        metavar="N",
        help="files published on one stack before the next fresh one (default 60)",
    )
    run.add_argument("--cache", type=Path, help=f"download cache (default: {default_cache()})")
    clean = commands.add_parser("clean", help="delete the download cache")
    clean.add_argument("--cache", type=Path)
    files = commands.add_parser("files", help="list a project's files on the registry")
    files.add_argument("project")
    files.add_argument("version", nargs="?")
    files.add_argument("--cache", type=Path)
    return parser


def _run(args: argparse.Namespace, cache: Path) -> int:
    from . import catalog as catalog_module
    from . import report
    from .run import Options, run, write_json

    try:
        catalog = catalog_module.load(args.list)
        if args.group:
            catalog = catalog.only(args.group)
    except (OSError, catalog_module.CatalogError) as error:
        print(f"compat: {args.list}: {error}", file=sys.stderr)
        return 2
    path = cache / "report.json"
    results, problems = run(
        catalog,
        cache,
        code=args.code,
        options=Options(
            doors=args.door or [UPLOAD2, TWINE],
            installs=not args.no_install,
            jobs=max(1, args.jobs),
            memory_limit=int(args.max_stack_memory * 2**30),
            files_per_stack=max(1, args.files_per_stack),
            say=lambda line: print(line, flush=True),
        ),
        checkpoint=lambda partial: write_json(path, report.to_json(partial, catalog)),
    )
    if results is None:
        print("compat: the list does not match the registry:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    print()
    print(report.format_text(results, catalog))
    write_json(path, report.to_json(results, catalog))
    print(f"report: {path}")
    return 1 if report.failed(results, catalog) else 0


def _files(args: argparse.Namespace, cache: Path) -> int:
    import requests
    from packaging.version import Version

    from .catalog import file_version
    from .registry import project_files

    listed = project_files(requests.Session(), args.project, cache / "simple")
    for name, remote in sorted(listed.items()):
        parsed = file_version(name)
        if args.version and (not parsed or parsed[1] != Version(args.version)):
            continue
        size = f"{remote.size / 1e6:8.2f} MB" if remote.size is not None else "      ? MB"
        print(f"{name}\t{size}\t{(remote.upload_time or '')[:10]}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "run")
    args = build_parser().parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the stacks this run started are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    cache = args.cache or default_cache()
    if args.command == "clean":
        shutil.rmtree(cache, ignore_errors=True)
        print(f"removed {cache}")
        return 0
    if args.command == "files":
        return _files(args, cache)
    return _run(args, cache)


if __name__ == "__main__":
    raise SystemExit(main())
