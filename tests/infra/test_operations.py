"""The template's alarms and dashboard watch what wharf deploys and what its code emits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from wharf_stack.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def _emitted_metrics() -> set[str]:
    """Every metric name the server code passes to ``Metrics.emit``."""
    names: set[str] = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r"\.emit\(\s*\"(\w+)\"", text))
        names |= set(re.findall(r"\"(\w+Errors)\" if", text))  # the middleware's pair
        names |= set(re.findall(r"else \"(\w+Errors)\"", text))
    return names


def _deployed_functions(stage: str) -> set[str]:
    """The Lambda functions `chalice deploy` creates: the API's, and one per event handler."""
    from app import app

    return {f"wharf-{stage}"} | {f"wharf-{stage}-{s.name}" for s in app.event_sources}


def _dashboard(stage: str, prefix: str) -> dict:
    template, variables = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    values = {
        "Ns": prefix,
        "Dlq": f"{prefix}-events-dlq",
        "Queue": f"{prefix}-events",
        "ChaliceStage": stage,
        "AWS::Region": "us-east-1",
    }
    assert set(variables) <= set(values)
    return json.loads(re.sub(r"\$\{([\w:]+)\}", lambda m: values[m.group(1)], template))


def test_the_code_emits_metrics_and_the_dashboard_shows_each():
    emitted = _emitted_metrics()
    assert {"UploadsStarted", "FilesRefused", "Publishes", "ServerErrors"} <= emitted
    body = json.dumps(_dashboard("prod", "wharf"))
    missing = sorted(name for name in emitted if name not in body)
    assert not missing, f"metrics on no dashboard widget: {missing}"


def test_the_dead_letter_queue_alarm_watches_the_dead_letter_queue():
    alarm = RESOURCES["DeadLetterQueueAlarm"]["Properties"]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    [dimension] = alarm["Dimensions"]
    assert dimension["Value"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


@pytest.mark.parametrize(
    ("alarm", "metric"), [("LambdaErrorsAlarm", "Errors"), ("LambdaThrottlesAlarm", "Throttles")]
)
def test_error_and_throttle_alarms_cover_every_function_chalice_deploys(alarm, metric):
    queries = RESOURCES[alarm]["Properties"]["Metrics"]
    watched = set()
    for query in queries:
        stat = query.get("MetricStat")
        if stat:
            assert stat["Metric"]["MetricName"] == metric
            [dimension] = stat["Metric"]["Dimensions"]
            watched.add(dimension["Value"]["Fn::Sub"].replace("${ChaliceStage}", "prod"))
    assert watched == _deployed_functions("prod")
    expression = next(q["Expression"] for q in queries if "Expression" in q)
    assert all(q["Id"] in expression for q in queries if "MetricStat" in q)


@pytest.mark.parametrize(("stage", "prefix"), [("dev", "wharf-dev"), ("prod", "wharf")])
def test_each_stage_emits_into_the_namespace_its_dashboard_reads(stage, prefix):
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = config["stages"][stage]["environment_variables"]
    assert env["WHARF_METRICS_NAMESPACE"] == prefix
    assert TEMPLATE["Outputs"]["MetricsNamespace"]["Value"] == {"Ref": "NamePrefix"}
    assert _dashboard(stage, prefix)["widgets"]
