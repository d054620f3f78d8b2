"""The example reviewer's rule interface, on real archives (tests/e2e runs it on the stack)."""

from __future__ import annotations

import io

from tests.builders import sdist_bytes, wheel_bytes
from wharf_stack.reviewer.rules import Member, review
from wharf_stack.reviewer.sample_rules import ContainsMarker, sample_rules


def test_the_sample_rule_finds_the_marker_in_a_wheel_member():
    data = wheel_bytes(files={"acme_tools/evil.py": b"X = 'WHARF-TEST-REJECT'\n"})
    [finding] = review("acme_tools-1.0-py3-none-any.whl", io.BytesIO(data), sample_rules())
    assert finding.member == "acme_tools/evil.py"
    assert finding.rule == "wharf-test-marker"
    assert str(finding) == (
        "acme_tools/evil.py: contains the marker 'WHARF-TEST-REJECT' (rule wharf-test-marker)"
    )


def test_a_clean_wheel_and_sdist_have_no_findings():
    wheel = wheel_bytes(files={"acme_tools/ok.py": b"X = 1\n"})
    assert review("acme_tools-1.0-py3-none-any.whl", io.BytesIO(wheel), sample_rules()) == []
    sdist = sdist_bytes("acme_tools", "1.0")
    assert review("acme_tools-1.0.tar.gz", io.BytesIO(sdist), sample_rules()) == []


def test_a_rule_is_any_object_with_a_name_and_check():
    class NoPthFiles:
        name = "no-pth"

        def check(self, member: Member) -> str | None:
            return "installs a .pth file" if member.name.endswith(".pth") else None

    data = wheel_bytes(files={"acme_tools/x.pth": b"import os\n"})
    rules = [NoPthFiles(), ContainsMarker("m", b"never")]
    [finding] = review("acme_tools-1.0-py3-none-any.whl", io.BytesIO(data), rules)
    assert (finding.rule, finding.reason) == ("no-pth", "installs a .pth file")


def test_yara_rules_are_an_optional_rule():
    import pytest

    pytest.importorskip("yara")
    from pathlib import Path

    import wharf_stack.reviewer as package
    from wharf_stack.reviewer.sample_rules import configured_rules

    sample = str(Path(package.__file__).with_name("sample.yar"))
    rules = configured_rules(sample)
    data = wheel_bytes(files={"acme_tools/evil.py": b"X = 'WHARF-TEST-REJECT'\n"})
    findings = review("acme_tools-1.0-py3-none-any.whl", io.BytesIO(data), rules)
    assert sorted((f.rule, f.reason) for f in findings) == [
        ("wharf-test-marker", "contains the marker 'WHARF-TEST-REJECT'"),
        ("yara", "matches YARA rule wharf_test_marker"),
    ]
    clean = wheel_bytes(files={"acme_tools/ok.py": b"X = 1\n"})
    assert review("acme_tools-1.0-py3-none-any.whl", io.BytesIO(clean), rules) == []
