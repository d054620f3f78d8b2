"""The one rule set both upload doors enforce (../shared/spec/upload-validation-rules.md).

Every refusal or warning wharf gives about an uploaded file carries one of these codes
as the first word of its notice (``"sdist-link: ..."``), so a client or an operator
can act on the code and a person can read the rest. docs/validation.md has the same
table; a test keeps the two in step.

Where a rule is checked:
  request  at file upload session creation (Upload 2.0) and in the legacy request,
           before any bytes are read;
  file     by the validator on the uploaded bytes (Upload 2.0: the file ends in
           ``error`` with the notice; legacy: 400 with the notice in the body).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    REFUSE = "refuse"
    WARN = "warn"  # accepted; the notice is kept on the file so the publisher sees it


class Stage(StrEnum):
    REQUEST = "request"
    FILE = "file"


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    stage: Stage
    summary: str


_R, _W = Severity.REFUSE, Severity.WARN
_Q, _F = Stage.REQUEST, Stage.FILE

RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        # --- names, versions, filenames, the project -------------------------------------
        Rule("filename-invalid", _R, _Q, "1-255 characters, no '/', '\\' or control characters"),
        Rule(
            "filename-format",
            _R,
            _Q,
            "a wheel (.whl) or an sdist (.tar.gz, .zip); eggs, installers and other "
            "archives were retired by PEP 527",
        ),
        Rule("wheel-filename", _R, _Q, "packaging.utils.parse_wheel_filename accepts it"),
        Rule("sdist-filename", _R, _Q, "{name}-{version}.tar.gz (or .zip) with a PEP 440 version"),
        Rule("wheel-platform-tag", _R, _Q, "every platform tag is one PyPI knows"),
        Rule("filename-project", _R, _Q, "the file's normalised name is the project's"),
        Rule("filename-version", _R, _Q, "the file's version equals the release's (PEP 440)"),
        Rule("local-version", _R, _Q, "no local versions (+local) unless the index allows them"),
        Rule("project-closed", _R, _Q, "archived and quarantined projects take no new files"),
        Rule(
            "filename-taken",
            _R,
            _Q,
            "a filename, or an equivalent spelling of it (same normalised name, version, "
            "build and tags; one sdist per release and format), is used once, forever",
        ),
        Rule("wheel-name-unnormalised", _W, _Q, "wheel name part not normalised (PyYAML-...)"),
        Rule("wheel-version-unnormalised", _W, _Q, "wheel version part not normalised"),
        Rule("sdist-name-pre-pep625", _W, _Q, "sdist named before PEP 625 (python-dateutil-...)"),
        Rule("sdist-zip", _W, _Q, ".zip sdist (PyPI accepted them until PEP 625 was enforced)"),
        # --- content ---------------------------------------------------------------------
        Rule("size-mismatch", _R, _F, "the bytes are as many as declared"),
        Rule("hash-mismatch", _R, _F, "every declared digest matches (constant-time)"),
        # --- archives --------------------------------------------------------------------
        Rule(
            "archive-bomb",
            _R,
            _F,
            "every byte decompressed (member data and headers) stays within 50 times the "
            "file's size past a 64 MiB floor, and under the absolute cap",
        ),
        Rule(
            "archive-memory",
            _R,
            _F,
            "names, headers and metadata kept while checking fit the per-file memory budget",
        ),
        Rule("archive-members", _R, _F, "at most WHARF_MAX_ARCHIVE_MEMBERS members"),
        Rule("archive-polyglot", _R, _F, "not both a zip and a tar"),
        Rule("member-path", _R, _F, "relative UTF-8 paths without '..', '\\' or control chars"),
        Rule("member-type", _R, _F, "regular files and directories (sdists: also safe links)"),
        Rule("member-duplicate", _R, _F, "no two members with the same path"),
        Rule("zip-format", _R, _F, "a sound zip archive"),
        Rule(
            "zip-framing",
            _R,
            _F,
            "strict framing: nothing before, between or after the members, no comments, "
            "local headers agree with the central directory, directories hold no data",
        ),
        Rule("zip-compression", _R, _F, "members stored or deflated only"),
        Rule("zip-member-corrupt", _R, _F, "every member's CRC matches"),
        Rule(
            "zip-data-descriptor",
            _W,
            _F,
            "a deflated member with a data descriptor that agrees with the central directory",
        ),
        Rule("gzip-format", _R, _F, "a sound gzip stream"),
        Rule("gzip-trailing-data", _R, _F, "one gzip member and nothing after it"),
        Rule("tar-format", _R, _F, "well-formed tar headers (ustar, PAX, GNU long names)"),
        Rule("tar-header-size", _R, _F, "a PAX header or GNU long name of at most 1 MiB"),
        Rule("tar-trailing-data", _R, _F, "only zero padding after the end of the tar archive"),
        Rule(
            "sdist-link",
            _R,
            _F,
            "links stay inside the sdist once earlier links are followed; nothing is "
            "unpacked through a symlink; hard links name an earlier file",
        ),
        # --- layout ----------------------------------------------------------------------
        Rule("sdist-layout", _R, _F, "one top-level directory {name}-{version}/"),
        Rule("sdist-top-dir-unnormalised", _W, _F, "top directory spelled before PEP 625"),
        Rule("sdist-pkg-info", _R, _F, "{top}/PKG-INFO present"),
        Rule("wheel-layout", _R, _F, "one matching .dist-info with METADATA, WHEEL and RECORD"),
        Rule("wheel-file", _R, _F, "WHEEL says Wheel-Version 1.x"),
        Rule(
            "wheel-record",
            _R,
            _F,
            "RECORD lists exactly the members with their hashes (WHARF_ENFORCE_RECORD=false: "
            "a warning, as on PyPI)",
        ),
        Rule("wheel-record-hash", _R, _F, "RECORD hashes are sha256 or stronger (no md5, sha1)"),
        Rule("wheel-entry-points", _R, _F, "entry_points.txt is valid INI with sane names"),
        # --- core metadata ---------------------------------------------------------------
        Rule("metadata-invalid", _R, _F, "METADATA / PKG-INFO validates with packaging.metadata"),
        Rule("metadata-version", _R, _F, "Metadata-Version 1.0-1.2 or 2.1-2.6"),
        Rule(
            "metadata-version-2.0",
            _W,
            _F,
            "Metadata-Version 2.0 (old bdist_wheel; PyPI took it until 2024): checked as 2.1",
        ),
        Rule(
            "metadata-field-too-new",
            _W,
            _F,
            "a field newer than the declared Metadata-Version (License-File in 2.1, as "
            "setuptools < 77 writes it): ignored",
        ),
        Rule("metadata-unknown-field", _W, _F, "a field no metadata version defines: ignored"),
        Rule("metadata-placeholder", _W, _F, "distutils' UNKNOWN placeholder: treated as absent"),
        Rule("metadata-name", _R, _F, "Name normalises to the project"),
        Rule("metadata-release", _R, _F, "Version equals the release (PEP 440)"),
        Rule("metadata-summary", _R, _F, "Summary of at most 512 characters"),
        Rule("metadata-email", _R, _F, "Author-email and Maintainer-email are valid addresses"),
        Rule(
            "metadata-email-old",
            _W,
            _F,
            "an invalid address in metadata before 2.1 (PyPI did not check addresses then): kept",
        ),
        Rule("metadata-classifier", _R, _F, "every classifier exists in trove-classifiers"),
        Rule("metadata-classifier-deprecated", _W, _F, "a deprecated classifier"),
        Rule(
            "metadata-url", _R, _F, "Home-page, Download-URL, Project-URL are http(s) URLs; labels"
        ),
        Rule(
            "metadata-direct-reference",
            _R,
            _F,
            "no direct URL references in Requires-Dist, Provides-Dist, Obsoletes-Dist",
        ),
        Rule("metadata-dynamic", _R, _F, "Dynamic names only fields that may be dynamic"),
        Rule("metadata-license", _R, _F, "not both License and License-Expression"),
        Rule("metadata-license-file", _R, _F, "every License-File (2.4+) is in the archive"),
    )
}


def rule(code: str) -> Rule:
    """The rule for ``code``; a ``KeyError`` here is a programming error caught by the tests."""
    return RULES[code]


def notice(code: str, text: str) -> str:
    """A notice as stored and shown: the rule's code, then the sentence for a person."""
    rule(code)
    return f"{code}: {text}"


def refusal_reasons(notices: list[str] | tuple[str, ...]) -> list[str]:
    """The distinct rule codes of a refusal's notices, for metrics: a notice without a rule
    code (an interrupted transfer, an uninspectable file) counts as ``unclassified``, so the
    set of values stays the rule table's."""
    reasons = []
    for text in notices:
        code = text.split(":", 1)[0]
        reason = code if code in RULES else "unclassified"
        if reason not in reasons:
            reasons.append(reason)
    return reasons or ["unclassified"]
