"""Where things live in the bucket. infra/template.yaml filters and expires by these prefixes."""

from __future__ import annotations

# Objects appearing here are completed uploads waiting for the validator; the
# bucket notification and the lifecycle rule for abandoned uploads use this prefix.
STAGING_PREFIX = "staging/"
# The static index: rendered from DynamoDB, served by the read routes.
INDEX_PREFIX = "simple/"

ROOT_INDEX_HTML = f"{INDEX_PREFIX}index.html"
ROOT_INDEX_JSON = f"{INDEX_PREFIX}index.json"
