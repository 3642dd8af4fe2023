"""Staff-written HTML (SPU descriptions from the console's rich-text editor), made safe
to show to buyers: sanitized when written, with nh3 (Rust's ammonia).

What a product page needs stays: text formatting, headings, lists, tables, images and
links (http, https, mailto). Everything else goes: script and style elements with their
content, event handlers (onclick, onerror), style attributes, iframes and forms, and
javascript:/data: URLs. Links get rel="noopener noreferrer".
"""

from __future__ import annotations

TAGS = {
    "a", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "div", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s",
    "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(text: str) -> str:
    """The HTML with only the allowed tags, attributes and URL schemes left."""
    import nh3

    return nh3.clean(
        text,
        tags=TAGS,
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
