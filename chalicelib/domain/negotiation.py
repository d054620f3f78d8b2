"""PEP 691 content negotiation for the simple index."""

from __future__ import annotations

from enum import StrEnum


class IndexFormat(StrEnum):
    """A representation of a simple-index page, named by the media type it is served as."""

    JSON = "application/vnd.pypi.simple.v1+json"
    HTML = "application/vnd.pypi.simple.v1+html"
    TEXT_HTML = "text/html"

    @property
    def is_json(self) -> bool:
        return self is IndexFormat.JSON

    @property
    def content_type(self) -> str:
        return self.value if self.is_json else f"{self.value}; charset=utf-8"


# Ties go to the first offer: `*/*` and a missing Accept get text/html, as on PyPI,
# because old installers send nothing else.
_OFFERS = (IndexFormat.TEXT_HTML, IndexFormat.HTML, IndexFormat.JSON)
_ALIASES = {
    "application/vnd.pypi.simple.latest+json": IndexFormat.JSON.value,
    "application/vnd.pypi.simple.latest+html": IndexFormat.HTML.value,
}


def _parse_q(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def select_format(accept: str | None) -> IndexFormat | None:
    """The representation to serve for an ``Accept`` header, or ``None`` (answer 406).

    The most specific range that matches an offer decides its q; the highest q
    wins; ties go to the server's order.
    """
    if accept is None or not accept.strip():
        return IndexFormat.TEXT_HTML
    best: dict[IndexFormat, tuple[int, float]] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        if not media:
            continue
        media = _ALIASES.get(media, media)
        q = _parse_q(params)
        for offer in _OFFERS:
            kind = offer.value.split("/")[0]
            if media == offer.value:
                specificity = 3
            elif media == f"{kind}/*":
                specificity = 2
            elif media == "*/*":
                specificity = 1
            else:
                continue
            if specificity >= best.get(offer, (0, 0.0))[0]:
                best[offer] = (specificity, q)
    ranked = [(q, -_OFFERS.index(offer), offer) for offer, (_, q) in best.items() if q > 0]
    return max(ranked)[2] if ranked else None
