"""Declared file hashes: which are accepted, and checking bytes against them."""

from __future__ import annotations

import hashlib
import hmac
import re

# hashlib's guaranteed algorithms, less the broken ones (md5, sha1) and the
# variable-length shakes, whose digest length the client would have to state.
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
_HEX = re.compile(r"^[0-9a-f]+\Z")


class HashError(ValueError):
    """Declared hashes that wharf cannot accept, with the reason for a person."""


def normalize_hashes(declared: object) -> dict[str, str]:
    """Validate a ``{"algorithm": "hexdigest"}`` map; return it with lower-case digests.

    At least one secure algorithm is required; every algorithm given must be one
    of hashlib's guaranteed ones with a well-formed digest, because every one is
    checked after the upload.
    """
    if not isinstance(declared, dict) or not declared:
        raise HashError("'hashes' must be a non-empty object of algorithm to hex digest.")
    out: dict[str, str] = {}
    problems = []
    for name, digest in declared.items():
        if name not in hashlib.algorithms_guaranteed or name.startswith("shake_"):
            problems.append(f"{name!r} is not a supported hash algorithm")
            continue
        if not isinstance(digest, str):
            problems.append(f"the {name} digest must be a string")
            continue
        digest = digest.lower()
        length = hashlib.new(name).digest_size * 2
        if len(digest) != length or not _HEX.match(digest):
            problems.append(f"the {name} digest must be {length} hexadecimal characters")
            continue
        out[name] = digest
    if problems:
        raise HashError("; ".join(problems) + ".")
    if not SECURE_ALGORITHMS & out.keys():
        raise HashError(
            "At least one secure hash is required (sha256 recommended); md5 and sha1 alone "
            "are not enough."
        )
    return out


class MultiHasher:
    """Feeds the same bytes to every declared algorithm (and sha256, which wharf records)."""

    def __init__(self, algorithms: set[str] | frozenset[str]) -> None:
        self._hashers = {name: hashlib.new(name) for name in {*algorithms, "sha256"}}
        self.size = 0

    def update(self, chunk: bytes) -> None:
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
