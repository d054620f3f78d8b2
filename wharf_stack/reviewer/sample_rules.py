"""The sample rule set: reject any file with a member carrying the test marker, so the
review step can be exercised end to end without real malware."""

from __future__ import annotations

from .rules import Member, Rule

TEST_MARKER = b"WHARF-TEST-REJECT"


class ContainsMarker:
    """Rejects a member whose content contains ``marker``."""

    def __init__(self, name: str, marker: bytes) -> None:
        self.name = name
        self._marker = marker

    def check(self, member: Member) -> str | None:
        if self._marker in member.content:
            return f"contains the marker {self._marker.decode()!r}"
        return None


def sample_rules() -> list[Rule]:
    return [ContainsMarker("wharf-test-marker", TEST_MARKER)]


def configured_rules(yara_path: str | None) -> list[Rule]:
    """The sample rules, plus YARA rules from ``yara_path`` when one is given."""
    rules = sample_rules()
    if yara_path:
        from .yara_rules import YaraRules

        rules.append(YaraRules(yara_path))
    return rules
