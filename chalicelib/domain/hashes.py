"""Declared file hashes: which are accepted, and checking bytes against them."""

from __future__ import annotations

import hashlib
import hmac
import re

# The algorithms that satisfy PEP 694's "at least one secure algorithm from
# hashlib.algorithms_guaranteed": the guaranteed ones less the broken (md5, sha1) and
# the variable-length shakes.
SECURE_ALGORITHMS = frozenset(
    {
        "sha224",
        "sha256",
        "sha384",
        "sha512",
        "sha3_224",
        "sha3_256",
        "sha3_384",
        "sha3_512",
        "blake2b",
        "blake2s",
    }
)
# More keys than hashlib has algorithms can only be a mistake or an attempt to make
# the server hash the file many times over.
MAX_ALGORITHMS = 24
_HEX = re.compile(r"^[0-9a-f]+\Z")


class HashError(ValueError):
    """Declared hashes that wharf cannot accept, with the reason for a person."""


def digest_size(name: str) -> int | None:
    """The digest size in bytes of a hashlib algorithm this server can compute, or ``None``.

    PEP 694 allows any name that ``hashlib.new()`` takes without further parameters; the
    shakes need a length to produce a digest, so they are not among them. What
    ``hashlib.new`` offers beyond ``algorithms_guaranteed`` depends on the OpenSSL the
    server runs with, so the answer is asked of hashlib itself, not of a list.
    """
    if name.startswith("shake_"):
        return None
    try:
        return hashlib.new(name).digest_size
    except (ValueError, TypeError):
        return None


def normalize_hashes(declared: object) -> dict[str, str]:
    """Validate a ``{"algorithm": "hexdigest"}`` map; return it with lower-case names and digests.

    Every algorithm ``hashlib.new`` can compute here is accepted (each is checked after
    the upload), at least one of them from ``SECURE_ALGORITHMS``. Raises ``HashError``
    naming every problem at once.
    """
    if not isinstance(declared, dict) or not declared:
        raise HashError("'hashes' must be a non-empty object of algorithm to hex digest.")
    if len(declared) > MAX_ALGORITHMS:
        raise HashError(f"'hashes' may name at most {MAX_ALGORITHMS} algorithms.")
    out: dict[str, str] = {}
    problems = []
    for raw_name, digest in declared.items():
        name = raw_name.lower()
        size = digest_size(name)
        if size is None:
            problems.append(
                f"{raw_name[:40]!r} is not a hash algorithm this server can compute "
                "(any name hashlib.new() takes without parameters is accepted)"
            )
            continue
        if name in out:
            problems.append(f"{name!r} is given more than once")
            continue
        if not isinstance(digest, str):
            problems.append(f"the {name} digest must be a string")
            continue
        digest = digest.lower()
        length = size * 2
        if len(digest) != length or not _HEX.match(digest):
            problems.append(f"the {name} digest must be {length} hexadecimal characters")
            continue
        out[name] = digest
    if problems:
        raise HashError("; ".join(problems) + ".")
    if not SECURE_ALGORITHMS & out.keys():
        raise HashError(
            "At least one secure hash from hashlib.algorithms_guaranteed is required "
            "(sha256 recommended); md5 and sha1 alone are not enough."
        )
    return out


class MultiHasher:
    """Feeds the same bytes to every declared algorithm (and sha256, which wharf records)."""

    def __init__(self, algorithms: set[str] | frozenset[str]) -> None:
        self._hashers = {name: hashlib.new(name) for name in {*algorithms, "sha256"}}
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self.size += len(chunk)
        for hasher in self._hashers.values():
            hasher.update(chunk)

    def hexdigests(self) -> dict[str, str]:
        return {name: hasher.hexdigest() for name, hasher in self._hashers.items()}

    def mismatches(self, declared: dict[str, str]) -> list[str]:
        """The algorithms whose digest differs from the declared one (constant-time compare)."""
        actual = self.hexdigests()
        return sorted(
            name for name, want in declared.items() if not hmac.compare_digest(actual[name], want)
        )
