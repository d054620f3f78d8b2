"""Small releases: 30 two-file releases with `wharf upload` (each until installable) against
`twine upload` of the same files to pypiserver on waitress; and, for one release, where the
time goes (from the client's first request to visible).

    python -m bench.small_releases [--releases 30]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent


def build(directory: Path, releases: int) -> list[list[Path]]:
    from tests.builders import metadata_text, sdist_bytes, wheel_bytes

    out = []
    for minor in range(releases):
        version = f"1.{minor}"
        wheel = directory / f"bench_small-{version}-py3-none-any.whl"
        wheel.write_bytes(
            wheel_bytes("bench_small", version, metadata=metadata_text("bench-small", version))
        )
        sdist = directory / f"bench_small-{version}.tar.gz"
        sdist.write_bytes(sdist_bytes("bench_small", version))
        out.append([wheel, sdist])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--releases", type=int, default=30)
    args = parser.parse_args(argv)
    import requests

    from bench.installs import _free_port, _wait_for
    from tests.e2e.conftest import start_stack

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "dists").mkdir()
        releases = build(work / "dists", args.releases)

        port = _free_port()
        packages = work / "pypiserver"
        packages.mkdir()
        serve = (
            "import sys, pypiserver, waitress; "
            "waitress.serve(pypiserver.app(roots=[sys.argv[1]], authenticate=[], "
            "password_file='.'), host='127.0.0.1', port=int(sys.argv[2]), _quiet=True)"
        )
        server = subprocess.Popen([sys.executable, "-c", serve, str(packages), str(port)])
        (work / "stack").mkdir()
        stack = start_stack(work / "stack", admin_token="wharf_bench-admin")
        try:
            _wait_for(f"http://127.0.0.1:{port}/simple/")
            started = time.perf_counter()
            for files in releases:
                subprocess.run(
                    [str(BIN / "twine"), "upload", "--disable-progress-bar", "--non-interactive"]
                    + ["--repository-url", f"http://127.0.0.1:{port}/", "-u", "x", "-p", "x"]
                    + [str(f) for f in files],
                    check=True,
                    capture_output=True,
                )
            twine = time.perf_counter() - started

            token = requests.post(
                f"{stack.url}/admin/tokens",
                json={"role": "upload", "projects": ["bench-small"]},
                auth=("__token__", stack.admin_token),
                timeout=30,
            ).json()["token"]
            env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
            env.update(WHARF_URL=stack.url, WHARF_TOKEN=token)
            samples = []
            split: dict[str, float] = {}
            for files in releases:
                t0 = time.perf_counter()
                process = subprocess.Popen(
                    [str(BIN / "wharf"), "upload", "--json", *map(str, files)],
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert process.stdout is not None
                marks: dict[str, float] = {}
                for line in process.stdout:
                    with contextlib.suppress(ValueError, KeyError):
                        marks.setdefault(json.loads(line)["event"], time.perf_counter() - t0)
                if process.wait() != 0:
                    raise RuntimeError(f"wharf upload failed: {marks}")
                samples.append(time.perf_counter() - t0)
                split = marks
            wharf = sum(samples)
        finally:
            stack.stop()
            server.terminate()
            server.wait(timeout=10)
    samples.sort()
    median = samples[len(samples) // 2]
    print(f"{args.releases} two-file releases:")
    print(f"  twine -> pypiserver  {twine:6.2f} s  ({twine / args.releases:.2f} s a release)")
    print(
        f"  wharf upload         {wharf:6.2f} s  ({median:.2f} s median a release, until "
        f"installable; {wharf / twine:.2f}x twine)"
    )
    print(
        "  last release, seconds from start: " + ", ".join(f"{k} {v:.2f}" for k, v in split.items())
    )


if __name__ == "__main__":
    main()
