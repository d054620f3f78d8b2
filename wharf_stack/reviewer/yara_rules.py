"""Optional: YARA rules (yara-python) as one rule of the example reviewer.

``WHARF_REVIEWER_YARA_RULES=path/to/rules.yar`` adds them to the sample rule set; every
member's content (capped, as for any rule) is matched against the compiled rules.
"""

from __future__ import annotations

from typing import Any

from .rules import Member

# yara's own scan limit per member, in seconds: a pathological rule cannot stall a review.
MATCH_TIMEOUT_SECONDS = 10


class YaraRules:
    def __init__(self, path: str, name: str = "yara") -> None:
        import yara  # optional: only a reviewer configured with YARA rules needs it

        self.name = name
        self._rules: Any = yara.compile(filepath=path)

    def check(self, member: Member) -> str | None:
        matches = self._rules.match(data=member.content, timeout=MATCH_TIMEOUT_SECONDS)
        if matches:
            return "matches YARA rule " + ", ".join(sorted(m.rule for m in matches))
        return None
