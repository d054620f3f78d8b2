"""Core metadata: parsed with packaging, checked with PyPI's rules, old conventions tolerated.

PyPI validated the metadata twine sent in the form, never the file's own, until 2024,
so files it accepted carry conventions packaging's strict validation refuses:
``License-File`` in Metadata-Version 2.1/2.2 (every setuptools before 77), ``2.0`` from
old bdist_wheel, distutils' ``UNKNOWN`` placeholders, fields no version defines. Each
of those is a warning here and the field is set aside before validation; everything
PyPI refuses on upload today (warehouse/forklift/metadata.py) is refused.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from packaging.metadata import ExceptionGroup, InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from trove_classifiers import all_classifiers, deprecated_classifiers

if TYPE_CHECKING:
    from packaging.version import Version

    from .limits import Limits
    from .report import Inspection

# Metadata's fields, from the class itself: raw name -> (email name, version introduced).
_FIELDS: dict[str, tuple[str, str]] = {
    name: (validator.raw_name, validator.added)
    for name, validator in vars(Metadata).items()
    if hasattr(validator, "added") and hasattr(validator, "raw_name")
}
_EMAIL_NAMES = {email_name for email_name, _ in _FIELDS.values()}
_ORDER = ["1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6"]
_PLACEHOLDER = "UNKNOWN"
_PLACEHOLDER_FIELDS = (
    "summary",
    "home_page",
    "download_url",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "license",
    "description",
)
# PyPI's list of fields that may be Dynamic (warehouse/forklift/metadata.py).
_DYNAMIC_ALLOWED = frozenset(
    f.lower()
    for f in (
        "Platform", "Supported-Platform", "Summary", "Description",
        "Description-Content-Type", "Keywords", "Home-Page", "Download-Url", "Author",
        "Author-Email", "Maintainer", "Maintainer-Email", "License", "License-Expression",
        "License-File", "Classifier", "Requires-Dist", "Requires-Python", "Requires-External",
        "Project-Url", "Provides-Extra", "Provides-Dist", "Obsoletes-Dist", "Requires",
        "Provides", "Obsoletes", "Import-Name", "Import-Namespace",
    )
)  # fmt: skip
MAX_SUMMARY = 512
MAX_URL_LABEL = 32
_LOCAL_PART = re.compile(r"^[\w!#$%&'*+/=?^`{|}~-]+(\.[\w!#$%&'*+/=?^`{|}~-]+)*\Z")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)\Z")


def check_metadata(
    raw: bytes,
    *,
    source: str,
    project: str,
    version: Version,
    limits: Limits,
    found: Inspection,
    has_file: Callable[[str], bool],
    license_dir: str,
) -> None:
    """Validate ``raw`` core metadata (from ``source``) and record it on ``found``.

    ``has_file`` tells whether the archive holds a path; License-File entries are looked
    up under ``license_dir``.
    """
    parsed, unparsed = parse_email(raw)
    fields: dict[str, Any] = dict(parsed)
    for key in unparsed:
        if key in _EMAIL_NAMES:
            found.note("metadata-invalid", f"{source}: {key!r} has invalid data")
        else:
            found.note(
                "metadata-unknown-field",
                f"{source}: {key[:60]!r} is not a core metadata field; ignored",
            )
    declared = fields.get("metadata_version")
    if declared is None:
        found.note("metadata-version", f"{source}: there is no Metadata-Version")
        return
    checked_as = declared
    if declared == "2.0":
        found.note(
            "metadata-version-2.0",
            f"{source}: Metadata-Version 2.0 was never a standard (old bdist_wheel wrote it); "
            "checked as 2.1",
        )
        checked_as = "2.1"
    if checked_as not in limits.metadata_versions or checked_as not in _ORDER:
        found.note(
            "metadata-version",
            f"{source}: Metadata-Version {declared!r} is not accepted "
            f"(accepted: {', '.join(sorted(limits.metadata_versions))})",
        )
        return
    fields["metadata_version"] = checked_as
    _set_aside_newer_fields(fields, checked_as, source, found)
    _set_aside_placeholders(fields, source, found)
    try:
        metadata = Metadata.from_raw(cast(RawMetadata, fields), validate=True)
    except ExceptionGroup as group:
        for error in group.exceptions:
            field = getattr(error, "field", None)
            found.note("metadata-invalid", f"{source}: {field + ': ' if field else ''}{error}")
        return
    except (InvalidMetadata, ValueError) as error:
        found.note("metadata-invalid", f"{source}: {error}")
        return
    if canonicalize_name(metadata.name) != project:
        found.note(
            "metadata-name",
            f"{source}: Name {metadata.name!r} does not match the project {project!r}",
        )
    if metadata.version != version:
        found.note(
            "metadata-release",
            f"{source}: Version {metadata.version} does not match the release {version}",
        )
    _pypi_rules(metadata, source, found)
    if metadata.license_files and _ORDER.index(checked_as) >= _ORDER.index("2.4"):
        for path in metadata.license_files:
            if not has_file(f"{license_dir}/{path}"):
                found.note(
                    "metadata-license-file",
                    f"{source}: License-File {path!r} is not in the archive "
                    f"(looked for {license_dir}/{path})",
                )
    found.metadata = raw
    found.metadata_version = declared
    found.requires_python = str(metadata.requires_python) if metadata.requires_python else None


def _set_aside_newer_fields(
    fields: dict[str, Any], checked_as: str, source: str, found: Inspection
) -> None:
    age = _ORDER.index(checked_as)
    for key in list(fields):
        email_name, added = _FIELDS.get(key, (key, "1.0"))
        if added in _ORDER and _ORDER.index(added) > age:
            del fields[key]
            found.note(
                "metadata-field-too-new",
                f"{source}: {email_name} belongs to metadata {added}, not {checked_as} "
                "(setuptools before 77 wrote License-File this way); ignored",
            )


def _set_aside_placeholders(fields: dict[str, Any], source: str, found: Inspection) -> None:
    for key in _PLACEHOLDER_FIELDS:
        value = fields.get(key)
        if isinstance(value, str) and value.strip() == _PLACEHOLDER:
            del fields[key]
            found.note(
                "metadata-placeholder",
                f"{source}: {_FIELDS[key][0]}: {_PLACEHOLDER} (distutils' placeholder) is "
                "treated as absent",
            )


# PyPI began checking addresses with Warehouse (2018), when metadata 2.1 appeared; files
# with older metadata were accepted with whatever the author wrote (Markdown 2.0 has
# "Yuri Takhteyev" style values), so an invalid address there is only a notice.
_UNCHECKED_EMAIL_VERSIONS = frozenset({"1.0", "1.1", "1.2"})


def _pypi_rules(metadata: Metadata, source: str, found: Inspection) -> None:
    if metadata.summary and len(metadata.summary) > MAX_SUMMARY:
        found.note(
            "metadata-summary",
            f"{source}: Summary has {len(metadata.summary)} characters; at most {MAX_SUMMARY}",
        )
    for label, value in (
        ("Author-email", metadata.author_email),
        ("Maintainer-email", metadata.maintainer_email),
    ):
        if value is not None:
            for problem in email_problems(value):
                if metadata.metadata_version in _UNCHECKED_EMAIL_VERSIONS:
                    found.note("metadata-email-old", f"{source}: {label}: {problem}; kept")
                else:
                    found.note("metadata-email", f"{source}: {label}: {problem}")
    for classifier in sorted(set(metadata.classifiers or [])):
        if classifier not in all_classifiers:
            found.note(
                "metadata-classifier", f"{source}: {classifier[:120]!r} is not a valid classifier"
            )
        elif classifier in deprecated_classifiers:
            instead = deprecated_classifiers[classifier]
            found.note(
                "metadata-classifier-deprecated",
                f"{source}: the classifier {classifier!r} is deprecated"
                + (f"; use {', '.join(instead)}" if instead else ""),
            )
    for label, url in (("Home-page", metadata.home_page), ("Download-URL", metadata.download_url)):
        if url is not None and not is_valid_url(url):
            found.note("metadata-url", f"{source}: {label} {url[:120]!r} is not an http(s) URL")
    for label, url in (metadata.project_urls or {}).items():
        if not label or len(label) > MAX_URL_LABEL:
            found.note(
                "metadata-url",
                f"{source}: Project-URL label {label[:60]!r} must have 1 to {MAX_URL_LABEL} "
                "characters",
            )
        elif not url or not is_valid_url(url):
            found.note("metadata-url", f"{source}: Project-URL {url[:120]!r} is not a URL")
    for requirement in metadata.requires_dist or []:
        if requirement.url is not None:
            found.note(
                "metadata-direct-reference",
                f"{source}: Requires-Dist {str(requirement)[:120]!r} is a direct reference; "
                "an index may only name other projects",
            )
    for label, values in (
        ("Provides-Dist", metadata.provides_dist),
        ("Obsoletes-Dist", metadata.obsoletes_dist),
    ):
        for value in values or []:
            try:
                parsed = Requirement(value)
            except InvalidRequirement as error:
                found.note("metadata-invalid", f"{source}: {label} {value[:80]!r}: {error}")
                continue
            if parsed.url is not None:
                found.note(
                    "metadata-direct-reference",
                    f"{source}: {label} {value[:120]!r} is a direct reference",
                )
    for field in metadata.dynamic or []:
        if field.lower() not in _DYNAMIC_ALLOWED:
            found.note("metadata-dynamic", f"{source}: {field!r} may not be Dynamic")
    if metadata.license and metadata.license_expression:
        found.note(
            "metadata-license",
            f"{source}: License and License-Expression are both set; only "
            "License-Expression may be (PEP 639)",
        )


def is_valid_url(url: str) -> bool:
    """An absolute http(s) URL without whitespace or control characters (PyPI's rule)."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https")


def email_problems(value: str) -> list[str]:
    """Why each address in an RFC 822 address list is not a valid e-mail address.

    PyPI uses the email-validator package (with DNS checks off); the Lambda keeps to its
    few dependencies, so the same syntax rules are applied here: a dot-atom local part
    and a domain of IDNA labels with at least one dot, under a top-level domain that is
    not all digits.
    """
    problems = []
    for display, address in email.utils.getaddresses([value]):
        if not address and not display:
            problems.append(f"{value[:80]!r} is not an e-mail address")
            continue
        local, at, domain = address.rpartition("@")
        if not at or not local or not _LOCAL_PART.match(local) or len(local) > 64:
            shown = address if "@" in address else value
            problems.append(f"{shown[:80]!r} is not a valid e-mail address")
            continue
        try:
            ascii_domain = domain.encode("idna").decode("ascii").lower()
        except (UnicodeError, ValueError):
            problems.append(f"{address[:80]!r} has an invalid domain")
            continue
        labels = ascii_domain.split(".")
        if (
            len(labels) < 2
            or len(ascii_domain) > 253
            or not all(_LABEL.match(label) for label in labels)
            or labels[-1].isdigit()
        ):
            problems.append(f"{address[:80]!r} has an invalid domain")
    return problems
