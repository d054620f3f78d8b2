"""What an operator sees: EMF metrics in the logs for uploads and publishes, and the
correlation id on every log line of a request (issue 14)."""

from __future__ import annotations

import io
import json
import sys

import pytest
from chalice.local import LambdaContext

from chalicelib.domain.inspection.rules import RULES
from chalicelib.observability import logger
from tests.builders import wheel_bytes
from tests.conftest import basic
from tests.upload_client import deliver_events, publish

pytestmark = pytest.mark.memory

WHEEL = "acme_tools-1.0-py3-none-any.whl"


@pytest.fixture
def logs(capsys):
    """What a Lambda would write to CloudWatch Logs: the Logger's lines and the EMF lines
    (printed), as parsed JSON, since the previous call."""
    stream = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(stream)  # type: ignore[attr-defined]  # a StreamHandler
    capsys.readouterr()

    def read() -> list[dict]:
        text = stream.getvalue() + capsys.readouterr().out
        stream.seek(0)
        stream.truncate()
        return json_lines(text)

    yield read
    handler.setStream(previous or sys.stdout)  # type: ignore[attr-defined]


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            lines.append(parsed)
    return lines


def emf(lines: list[dict], name: str) -> list[dict]:
    """The EMF documents that define the metric ``name`` (CloudWatch's embedded format)."""
    found = []
    for line in lines:
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            if any(metric["Name"] == name for metric in directive["Metrics"]):
                assert directive["Namespace"] == "wharf"
                assert all(set(dims) <= set(line) for dims in directive["Dimensions"])
                found.append(line)
    return found


def test_a_completed_upload_and_a_publish_are_counted(uploader, app_client, aws, logs):
    logs()
    session = uploader.create()
    data = wheel_bytes()
    uploader.upload(session, WHEEL, data)
    deliver_events(app_client, aws)
    assert publish(uploader, session).status == 202
    deliver_events(app_client, aws)
    lines = logs()

    [started] = emf(lines, "UploadsStarted")
    assert started["UploadsStarted"] == [1.0]
    assert started["mechanism"] == "http-post-bytes"
    [received] = emf(lines, "BytesReceived")
    assert received["BytesReceived"] == [float(len(data))]
    assert received["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] == "Bytes"
    [completed] = emf(lines, "FilesCompleted")
    assert completed["FilesCompleted"] == [1.0]
    assert emf(lines, "FilesRefused") == []
    [published] = emf(lines, "Publishes")
    assert published["Publishes"] == [1.0]
    [latency] = emf(lines, "PublishLatency")
    assert latency["PublishLatency"][0] >= 0
    assert latency["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] == "Milliseconds"


def test_a_refused_file_is_counted_under_its_rule_code(uploader, app_client, aws, logs):
    session = uploader.create()
    uploader.upload(session, WHEEL, b"not a zip archive at all")
    logs()
    deliver_events(app_client, aws)
    lines = logs()
    refused = emf(lines, "FilesRefused")
    assert refused, "no FilesRefused metric"
    assert {line["reason"] for line in refused} <= set(RULES)
    assert emf(lines, "FilesCompleted") == []


def test_client_errors_are_counted_by_route_pattern(http, logs):
    logs()
    assert http.get("/upload/not-a-session", headers=basic("nope")).status_code == 401
    [error] = emf(logs(), "ClientErrors")
    assert error["route"].startswith("/upload/{")  # the pattern, never the token


def test_every_line_of_a_request_carries_its_correlation_id(uploader, logs):
    logs()
    reply = uploader.create()
    assert reply.status == 201
    lines = [line for line in logs() if "level" in line]
    assert len(lines) >= 2  # the session's own line and the request line
    correlation = reply.headers["X-Request-Id"]
    assert {line.get("correlation_id") for line in lines} == {correlation}
    assert lines[-1]["message"] == "request"
    assert lines[-1]["status"] == 201
    assert all("function_request_id" in line for line in lines)  # the Lambda context


def api_gateway_event(path: str, headers: dict[str, str], request_id: str) -> dict:
    """A REST API (v1) proxy event as API Gateway sends it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "GET",
            "path": f"/api{path}",
            "requestId": request_id,
            "stage": "api",
            "identity": {"sourceIp": "192.0.2.1"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def test_the_api_gateway_request_id_is_the_correlation_id(issue, wharf, logs):
    from app import app

    headers = basic(issue("read"))
    logs()
    response = app(
        api_gateway_event("/simple", headers, "c0ffee-1"),
        LambdaContext("wharf-dev", memory_size=1024),
    )
    assert response["statusCode"] == 301  # to /simple/, as PyPI does
    assert response["headers"]["X-Request-Id"] == "c0ffee-1"
    lines = [line for line in logs() if "level" in line]
    assert lines
    assert {line.get("correlation_id") for line in lines} == {"c0ffee-1"}


def test_a_sweep_that_found_nothing_says_nothing(app_client, logs):
    event = app_client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    logs()
    app_client.lambda_.invoke("expire_sessions", event)
    assert [line for line in logs() if line.get("level") == "INFO"] == []
