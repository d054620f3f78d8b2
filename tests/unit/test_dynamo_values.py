"""DynamoDB attribute values: the wire format boto3's serializer writes, for wharf's types."""

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib.adapters.dynamo_values import from_attribute, to_attribute

VALUES = [
    "text",
    "",
    0,
    -7,
    10**37 + 1,
    True,
    False,
    None,
    b"\x00bytes",
    ["a", 1, None, [True]],
    {"nested": {"n": 2, "l": ["x"]}},
    {"a", "b"},
    {1, 2},
    {b"x", b"y"},
]


def _sorted_sets(attribute):
    """boto3 writes a set's members in iteration order; DynamoDB keeps no order."""
    ((kind, value),) = attribute.items()
    if kind in ("SS", "NS", "BS"):
        return {kind: sorted(value)}
    if kind == "L":
        return {kind: [_sorted_sets(v) for v in value]}
    if kind == "M":
        return {kind: {k: _sorted_sets(v) for k, v in value.items()}}
    return attribute


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_the_wire_format_is_boto3s_and_reads_back(value):
    attribute = to_attribute(value)
    assert _sorted_sets(attribute) == _sorted_sets(TypeSerializer().serialize(value))
    assert from_attribute(attribute) == value


def test_numbers_read_back_as_int():
    assert from_attribute({"N": "42"}) == 42
    assert type(from_attribute({"N": "42"})) is int
    assert from_attribute({"N": "1E+3"}) == 1000
    assert from_attribute({"NS": ["1", "2"]}) == {1, 2}


def test_a_large_round_number_is_in_range():
    """DynamoDB counts significant digits; boto3 refuses such an int (its context rounds)."""
    assert from_attribute(to_attribute(10**125)) == 10**125


def test_a_tuple_is_a_list_and_a_frozenset_a_set():
    assert to_attribute(("a", 1)) == {"L": [{"S": "a"}, {"N": "1"}]}
    assert to_attribute(frozenset({"a"})) == {"SS": ["a"]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "no DynamoDB type for float"),
        (Decimal("1.5"), "whole numbers only"),
        (Decimal("NaN"), "whole numbers only"),
        (10**38 + 1, "out of DynamoDB's range"),
        (10**126, "out of DynamoDB's range"),
        (set(), "no empty set"),
        ({"a", 1}, "all of one kind"),
        (object(), "no DynamoDB type for object"),
        # Refused before they are printed or expanded (either would take minutes).
        (Decimal("1E+5000000"), "out of DynamoDB's range"),
        (10**5000, "out of DynamoDB's range"),
    ],
    ids=[
        "float",
        "fraction",
        "nan",
        "39 digits",
        "1E+126",
        "empty set",
        "mixed set",
        "object",
        "huge decimal",
        "huge int",
    ],
)
def test_what_dynamodb_cannot_hold_is_refused(value, message):
    with pytest.raises(TypeError, match=message):
        to_attribute(value)


@pytest.mark.parametrize(
    ("attribute", "message"),
    [({"N": "1.5"}, "whole numbers only"), ({"X": "?"}, "unknown DynamoDB type")],
)
def test_what_wharf_never_writes_is_refused_on_read(attribute, message):
    with pytest.raises(TypeError, match=message):
        from_attribute(attribute)
