// The sample YARA rule: the same test marker as the Python sample rule.
rule wharf_test_marker
{
    strings:
        $marker = "WHARF-TEST-REJECT"
    condition:
        $marker
}
