"""Long descriptions rendered the way PyPI renders them, once, when a release is published.

readme_renderer is Warehouse's own renderer: reStructuredText (raw HTML and file inclusion
off), Markdown (GitHub-flavoured) or plain text, and every result sanitised by nh3 (no
script, no event handlers, no ``javascript:`` links). Text that fails to render as its
declared type is shown as plain text, as PyPI does.

readme_renderer (docutils, pygments, nh3, comrak) is imported inside ``render_description``
only: it is the provenance layer's (requirements-provenance.in), attached to the functions
that publish, and an API cold start that never publishes must not pay for it. Without the
layer a render raises ``ProvenanceLayerMissing`` (after an error log).
"""

from __future__ import annotations

from email.message import Message
from email.utils import collapse_rfc2231_value

from ..provenance_layer import require_provenance_layer

# Bounds the work of one render (the validator already caps metadata at 2 MiB by default).
MAX_DESCRIPTION_CHARS = 512 * 1024


def content_type_of(declared: str | None) -> tuple[str, str | None]:
    """(media type, Markdown variant) from a Description-Content-Type; rst by default."""
    if not declared:
        return "text/x-rst", None
    message = Message()
    message["content-type"] = declared
    variant = message.get_param("variant")
    if isinstance(variant, tuple):  # an RFC 2231 value: (charset, language, text)
        variant = collapse_rfc2231_value(variant)
    return message.get_content_type(), variant


def render_description(text: str, declared_type: str | None) -> str:
    """Sanitised HTML for a long description (empty for none)."""
    if not text.strip():
        return ""
    require_provenance_layer()
    import readme_renderer.markdown
    import readme_renderer.rst
    import readme_renderer.txt

    truncated = len(text) > MAX_DESCRIPTION_CHARS
    text = text[:MAX_DESCRIPTION_CHARS]
    media_type, variant = content_type_of(declared_type)
    html: str | None
    if media_type == "text/markdown":
        html = readme_renderer.markdown.render(text, variant=str(variant or "GFM"))
    elif media_type == "text/plain":
        html = readme_renderer.txt.render(text)
    else:
        html = readme_renderer.rst.render(text)
    if html is None:
        html = readme_renderer.txt.render(text) or ""
    if truncated:
        html += "\n<p><em>(The description is longer than this page shows.)</em></p>"
    return html
