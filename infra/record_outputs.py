"""Copy the infra stack's outputs into a Chalice stage's environment variables.

    python infra/record_outputs.py --stack wharf --stage prod

Stateful resources live in their own stack (infra/template.yaml) and reach the
app only through these settings, as in Chalice's media-query sample.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import boto3

CONFIG = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"
OUTPUT_TO_ENV = {
    "TableName": "WHARF_TABLE_NAME",
    "BucketName": "WHARF_BUCKET_NAME",
    "QueueArn": "WHARF_QUEUE_ARN",
    "MetricsNamespace": "WHARF_METRICS_NAMESPACE",
}


def record(stack: str, stage: str, config_path: Path = CONFIG) -> dict[str, str]:
    description = boto3.client("cloudformation").describe_stacks(StackName=stack)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in description["Stacks"][0]["Outputs"]}
    config = json.loads(config_path.read_text())
    env = config["stages"].setdefault(stage, {}).setdefault("environment_variables", {})
    for output, name in OUTPUT_TO_ENV.items():
        env[name] = outputs[output]
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    return {name: env[name] for name in OUTPUT_TO_ENV.values()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the infra stack's name")
    parser.add_argument("--stage", required=True, help="the Chalice stage to update")
    args = parser.parse_args()
    for name, value in record(args.stack, args.stage).items():
        print(f"{args.stage}: {name}={value}")


if __name__ == "__main__":
    main()
