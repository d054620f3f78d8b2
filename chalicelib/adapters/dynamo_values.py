"""Plain Python values to DynamoDB's typed attribute values and back.

boto3 has this (``boto3.dynamodb.types``), but importing it runs boto3's package
``__init__``, which loads s3transfer and the resource layer: about 25 ms of every cold
start (``python -m bench.package``), for two small functions. wharf's items hold only
strings, integers, booleans, bytes, lists, maps and sets of those, so this is the subset
boto3's serializer covers for them, with the same wire format; numbers come back as
``int`` because wharf stores no fractions (a stored fraction is refused, not rounded).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Set
from decimal import Decimal
from typing import Any

# DynamoDB numbers: 38 significant digits, magnitude below 1E+126 (boto3's DYNAMODB_CONTEXT).
_MAX_DIGITS = 38
_MAX_PLACES = 126
_MAX_BITS = 419  # 10**126 needs 419 bits


def to_attribute(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):  # before int: bool is an int
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute(v) for k, v in value.items()}}
    if isinstance(value, Set):
        return _set(value)
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(v) for v in value]}
    raise TypeError(f"no DynamoDB type for {type(value).__name__}")


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "S" or kind == "BOOL":
        return value
    if kind == "N":
        return _int(value)
    if kind == "NULL":
        return None
    if kind == "B":
        return _bytes(value)
    if kind == "L":
        return [from_attribute(v) for v in value]
    if kind == "M":
        return {k: from_attribute(v) for k, v in value.items()}
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {_int(v) for v in value}
    if kind == "BS":
        return {_bytes(v) for v in value}
    raise TypeError(f"unknown DynamoDB type {kind!r}")


def _number(value: int | Decimal) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral():
            raise TypeError(f"wharf stores whole numbers only, not {value}")
        if value.adjusted() >= _MAX_PLACES:  # before int(): 1E+5000000 would take minutes
            raise _out_of_range()
        value = int(value)
    if abs(value).bit_length() > _MAX_BITS:  # before str(): no huge int is ever printed
        raise _out_of_range()
    text = str(value)
    places = text.lstrip("-")
    if len(places.rstrip("0")) > _MAX_DIGITS or len(places) > _MAX_PLACES:
        raise _out_of_range()
    return text


def _out_of_range() -> TypeError:
    return TypeError(f"out of DynamoDB's range: {_MAX_DIGITS} significant digits, 1E+126")


def _int(text: str) -> int:
    number = Decimal(text)
    if number != number.to_integral():
        raise TypeError(f"wharf stores whole numbers only, not {text}")
    return int(number)


def _bytes(value: bytes | str) -> bytes:
    # botocore decodes binary attributes itself; a raw item from elsewhere may be base64.
    return value if isinstance(value, bytes) else base64.b64decode(value)


def _set(values: Set[Any]) -> dict[str, Any]:
    if not values:
        raise TypeError("DynamoDB stores no empty set")
    if all(isinstance(v, str) for v in values):
        return {"SS": sorted(values)}
    if all(isinstance(v, int | Decimal) and not isinstance(v, bool) for v in values):
        return {"NS": sorted(_number(v) for v in values)}
    if all(isinstance(v, bytes) for v in values):
        return {"BS": sorted(values)}
    raise TypeError("a DynamoDB set holds strings, numbers or bytes, all of one kind")
