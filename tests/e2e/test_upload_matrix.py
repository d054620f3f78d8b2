"""A CI matrix: several `wharf upload` processes for one release at the same moment."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.builders import metadata_text, sha256, wheel_bytes
from tests.e2e.conftest import BIN, run_wharf

pytestmark = pytest.mark.e2e
JSON = "application/vnd.pypi.simple.v1+json"
V2 = "application/vnd.pypi.upload.v2+json"
META = {"api-version": "2.0"}


@pytest.fixture(scope="module")
def token(stack) -> str:
    created = run_wharf(
        stack, "token", "create", "--role", "upload", "--project", "e2e-matrix-*", "--json"
    )
    return json.loads(created.stdout)["token"]


def wheel(directory: Path, project: str, version: str, tag: str, **kwargs) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    module = project.replace("-", "_")
    data = wheel_bytes(
        module,
        version,
        metadata=kwargs.pop("metadata", metadata_text(project, version)),
        files={f"{module}/{tag}.bin": os.urandom(150_000)},
        wheel_file=f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: false\nTag: {tag}\n",
    )
    path = directory / f"{module}-{version}-{tag}.whl"
    path.write_bytes(data)
    return path


def start(stack, token: str, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    env.update(WHARF_URL=stack.url, WHARF_TOKEN=token, PYPIRC="/nonexistent")
    return subprocess.Popen(
        [str(BIN / "wharf"), "upload", "--json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, list[dict], str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, [json.loads(line) for line in out.splitlines()], err


def published(stack, project: str) -> list[dict]:
    reader = json.loads(run_wharf(stack, "token", "create", "--role", "read", "--json").stdout)
    reply = requests.get(
        f"{stack.url}/simple/{project}/",
        auth=("__token__", reader["token"]),
        headers={"Accept": JSON},
        timeout=30,
    )
    return reply.json()["files"] if reply.status_code == 200 else []


def open_sessions(stack, token: str, project: str) -> list[dict]:
    listed = json.loads(run_wharf(stack, "session", "list", "--json", token=token).stdout)
    return [s for s in listed["sessions"] if s["name"] == project]


def test_five_parallel_jobs_of_one_release_all_succeed(stack, token, tmp_path):
    project = "e2e-matrix-five"
    jobs = {
        f"cp31{n}": [
            wheel(tmp_path / f"job{n}", project, "1.0", f"cp31{n}-cp31{n}-{platform}")
            for platform in ("manylinux_2_17_x86_64", "win_amd64")
        ]
        for n in range(5)
    }
    processes = [start(stack, token, *map(str, files)) for files in jobs.values()]
    results = [finish(p) for p in processes]
    for code, events, err in results:
        assert code == 0, (events, err)
        assert err == ""
        assert any(e["event"] == "published" for e in events), events
    files = published(stack, project)
    expected = {path.name: sha256(path.read_bytes()) for paths in jobs.values() for path in paths}
    assert sorted(f["filename"] for f in files) == sorted(expected)  # each file exactly once
    assert {f["filename"]: f["hashes"]["sha256"] for f in files} == expected
    assert open_sessions(stack, token, project) == []  # nothing left behind
    sessions = {e["session"] for _, events, _ in results for e in events if e["event"] == "session"}
    # Jobs that overlap join one session; how many there were is the atomicity achieved.
    print(f"5 parallel jobs published through {len(sessions)} session(s)")
    assert 1 <= len(sessions) <= 5


def test_a_job_arriving_after_the_publish_adds_its_files_to_the_release(stack, token, tmp_path):
    project = "e2e-matrix-late"
    early = wheel(tmp_path / "early", project, "1.0", "cp311-cp311-win_amd64")
    late = wheel(tmp_path / "late", project, "1.0", "cp312-cp312-win_amd64")
    assert finish(start(stack, token, str(early)))[0] == 0
    code, events, err = finish(start(stack, token, str(late)))
    assert code == 0, (events, err)
    assert [e["created"] for e in events if e["event"] == "session"] == [True]
    assert sorted(f["filename"] for f in published(stack, project)) == [early.name, late.name]


def test_a_rejected_job_fails_alone_and_holds_up_no_one(stack, token, tmp_path):
    project = "e2e-matrix-reject"
    good = wheel(tmp_path / "good", project, "1.0", "cp311-cp311-win_amd64")
    bad = wheel(
        tmp_path / "bad",
        project,
        "1.0",
        "cp312-cp312-win_amd64",
        metadata=metadata_text("e2e-matrix-other", "1.0"),  # names another project
    )
    processes = [start(stack, token, str(good)), start(stack, token, str(bad))]
    (good_code, good_events, _), (bad_code, bad_events, _) = map(finish, processes)
    assert good_code == 0, good_events
    assert bad_code == 1
    verdict = next(e for e in bad_events if e["event"] == "file-done")
    assert verdict["status"] == "error" and verdict["notices"]
    errors = [e for e in bad_events if e["event"] == "error"]
    assert errors[0]["file"] == bad.name and errors[0]["message"].startswith(f"{bad.name}: ")
    assert "was not published" in errors[-1]["message"]
    assert [f["filename"] for f in published(stack, project)] == [good.name]
    # Alone, a rejected upload leaves no empty session behind.
    alone = wheel(
        tmp_path / "alone",
        project,
        "2.0",
        "cp312-cp312-win_amd64",
        metadata=metadata_text("e2e-matrix-other", "2.0"),
    )
    code, events, _ = finish(start(stack, token, str(alone)))
    assert code == 1
    assert events[-1]["message"].endswith("its files were rejected; fix them and run again")
    assert open_sessions(stack, token, project) == []


def test_a_stopped_job_holds_the_others_only_as_long_as_wait(stack, token, tmp_path):
    project = "e2e-matrix-stalled"
    stalled = wheel(tmp_path / "stalled", project, "1.0", "cp311-cp311-win_amd64")
    mine = wheel(tmp_path / "mine", project, "1.0", "cp312-cp312-win_amd64")
    # Another job registered its file and stopped before sending it.
    auth = ("__token__", token)
    headers = {"Content-Type": V2}
    session = requests.post(
        f"{stack.url}/upload/",
        json={"meta": META, "name": project, "version": "1.0"},
        auth=auth,
        headers=headers,
        timeout=30,
    ).json()
    data = stalled.read_bytes()
    requests.post(
        session["links"]["upload"],
        json={
            "meta": META,
            "filename": stalled.name,
            "size": len(data),
            "hashes": {"sha256": sha256(data)},
            "mechanism": "http-post-bytes",
        },
        auth=auth,
        headers=headers,
        timeout=30,
    ).raise_for_status()
    began = time.monotonic()
    code, events, _ = finish(start(stack, token, "--wait", "2", str(mine)))
    assert code == 1
    assert time.monotonic() - began < 60
    waiting = next(e for e in events if e["event"] == "waiting")
    assert waiting["files"] == {stalled.name: "pending"}
    error = events[-1]
    assert error["event"] == "error"
    assert f"{stalled.name} (pending) were not completed" in error["message"]
    assert f"`wharf session publish {project} 1.0`" in error["message"]
    assert session["session-token"] not in error["message"]  # the stage's credential
    # Our file waits in the session; once the other file is gone, the advice works.
    listed = open_sessions(stack, token, project)
    assert [(s["session-token"], s["file-count"]) for s in listed] == [
        (session["session-token"], 2)
    ]
    status = requests.get(session["links"]["session"], auth=auth, timeout=30).json()
    link = status["files"][stalled.name]["link"]
    assert requests.delete(link, auth=auth, timeout=30).status_code == 204
    publish = run_wharf(stack, "session", "publish", project, "1.0", token=token)
    assert publish.returncode == 0, publish.stderr
    assert [f["filename"] for f in published(stack, project)] == [mine.name]


def test_jobs_sending_the_identical_file_share_it(stack, token, tmp_path):
    project = "e2e-matrix-shared"
    shared = wheel(tmp_path / "shared", project, "1.0", "py3-none-any")
    own = [
        wheel(tmp_path / f"job{n}", project, "1.0", f"cp31{n}-cp31{n}-win_amd64") for n in range(3)
    ]
    processes = [start(stack, token, str(shared), str(mine)) for mine in own]
    for code, events, err in map(finish, processes):
        assert code == 0, (events, err)
    names = sorted(f["filename"] for f in published(stack, project))
    assert names == sorted([shared.name, *(w.name for w in own)])

    rebuilt = tmp_path / "rebuilt"
    clash = wheel(rebuilt, project, "2.0", "py3-none-any")
    other = wheel(tmp_path / "other", project, "2.0", "py3-none-any")  # same name, other bytes
    staged = finish(start(stack, token, "--stage", str(clash)))
    assert staged[0] == 0
    code, events, _ = finish(start(stack, token, str(other)))
    assert code == 1
    assert "is already in session" in events[-1]["message"]
    assert "with other contents" in events[-1]["message"]
