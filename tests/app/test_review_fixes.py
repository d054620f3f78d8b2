"""Races and leftovers found in review: each test pins one fix."""

from __future__ import annotations

import json
import threading

from tests.builders import metadata_text, wheel_bytes
from tests.conftest import basic
from tests.upload_client import UploadClient, deliver_events, path_of, publish, release

JSON = "application/vnd.pypi.simple.v1+json"
WHEEL = "acme_tools-1.0-py3-none-any.whl"


def admin_put(http, admin, path, body):
    return http.put(
        path,
        headers={**basic(admin), "Content-Type": "application/json"},
        body=json.dumps(body).encode(),
    )


def test_new_projects_published_at_once_all_reach_the_root(http, issue, app_client, aws, wharf):
    client = UploadClient(http, issue("upload", ("acme-*",)))
    tokens = []
    for n in range(5):
        name = f"acme-p{n}"
        session = client.create(name=name, version="1.0")
        data = wheel_bytes(f"acme_p{n}", "1.0", metadata=metadata_text(name, "1.0"))
        client.upload(session, f"acme_p{n}-1.0-py3-none-any.whl", data)
        deliver_events(app_client, aws)
        publish(client, session)
        tokens.append(session.json["session-token"])
    aws.clients.sqs.purge_queue(QueueUrl=aws.resources.queue_url)
    barrier = threading.Barrier(len(tokens))

    def run(token: str) -> None:
        barrier.wait()
        wharf.publisher.run(token)

    threads = [threading.Thread(target=run, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    root = http.get("/simple/", headers={**basic(issue("read")), "Accept": JSON})
    assert {p["name"] for p in json.loads(root.body)["projects"]} == {
        f"acme-p{n}" for n in range(5)
    }


def test_quarantined_project_stays_off_the_root_and_the_stage(http, issue, admin, app_client, aws):
    client = UploadClient(http, issue("upload", ("acme-*",)))
    release(client, app_client, aws, "acme-tools", "1.0", {WHEEL: wheel_bytes()})
    # A session opened before the quarantine (a quarantined project takes no new ones).
    data = wheel_bytes(version="1.1", metadata=metadata_text(version="1.1"))
    session = client.create(version="1.1")
    client.upload(session, "acme_tools-1.1-py3-none-any.whl", data)
    deliver_events(app_client, aws)
    admin_put(http, admin, "/admin/projects/acme-tools/status", {"status": "quarantined"})
    stage = path_of(session.json["links"]["stage"])
    assert http.get(f"{stage}files/{WHEEL}").status_code == 404
    publish(client, session)
    deliver_events(app_client, aws)
    # Another new project re-renders the root: the quarantined one must not come back.
    release(
        client,
        app_client,
        aws,
        "acme-other",
        "1.0",
        {
            "acme_other-1.0-py3-none-any.whl": wheel_bytes(
                "acme_other", "1.0", metadata=metadata_text("acme-other", "1.0")
            )
        },
    )
    root = http.get("/simple/", headers={**basic(issue("read")), "Accept": JSON})
    assert {p["name"] for p in json.loads(root.body)["projects"]} == {"acme-other"}


def test_cancel_releases_names_a_failed_publish_left_reserved(http, issue, app_client, aws, wharf):
    client = UploadClient(http, issue("upload", ("acme-*",)))
    session = client.create()
    client.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    token = session.json["session-token"]
    key = {"PK": {"S": f"FILENAME#{WHEEL}"}, "SK": {"S": "FILENAME"}}
    aws.clients.dynamodb.put_item(
        TableName=aws.resources.table, Item={**key, "session": {"S": token}}
    )
    assert client.cancel(session).status == 200
    assert "Item" not in aws.clients.dynamodb.get_item(TableName=aws.resources.table, Key=key)


def test_publisher_never_copies_over_a_name_it_lost(http, issue, app_client, aws, wharf):
    client = UploadClient(http, issue("upload", ("acme-*",)))
    session = client.create()
    client.upload(session, WHEEL, wheel_bytes())
    deliver_events(app_client, aws)
    publish(client, session)
    aws.clients.sqs.purge_queue(QueueUrl=aws.resources.queue_url)
    key = {"PK": {"S": f"FILENAME#{WHEEL}"}, "SK": {"S": "FILENAME"}}
    aws.clients.dynamodb.put_item(
        TableName=aws.resources.table, Item={**key, "session": {"S": "legacy:someone-else"}}
    )
    assert wharf.publisher.run(session.json["session-token"]) == "error: reservations lost"
    # Nothing is written where the other holder's file is served, nor recorded under its name.
    listed = aws.clients.s3.list_objects_v2(Bucket=aws.resources.bucket, Prefix="files/acme-tools/")
    assert not listed.get("Contents")
    assert wharf.stores.catalog.published_file("acme-tools", WHEEL) is None
    assert client.session(session).json["status"] == "error"
