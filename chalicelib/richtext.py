"""Staff-written HTML shown to buyers (an SPU's detail, packaging and service descriptions).

`sanitize_html` is applied when the HTML is written (the admin SPU routes), so what is
stored is already safe to put on a product page as it is. It keeps what a product page
made in a rich-text editor needs (paragraphs, headings, emphasis, lists, tables, images,
links, a few visual styles) and drops everything else with nh3 (Rust's ammonia, an
allow-list HTML5 parser and serializer):

- `script` and `style` elements go with their content; other unknown tags (iframe,
  object, form, svg, ...) are dropped and their text kept; comments go.
- Attributes are allowed per tag, so no event handler (`onerror`, `onclick`) survives,
  nor `class`/`id` that could hook into the storefront's own CSS or scripts.
- URLs (`a href`, `img src`) may be http(s), `mailto:`, `tel:` or relative; `javascript:`,
  `vbscript:` and `data:` are removed. data: images are refused too, although a browser
  would not run them: they would carry a picture past the upload checks (uploads.py
  decodes and re-encodes every stored image) and put megabytes in a TEXT column and in
  every SKU detail answer. Product pictures are uploaded and linked by URL.
- `style` is kept only for visual properties (colour, font, alignment, sizes, spacing,
  borders) and filtered property by property: no `position` (an overlay over the page),
  no `background-image`. A style whose text holds a CSS function other than the colour
  functions (`url(`, `expression(`, `var(`, ...) or a backslash escape is dropped whole:
  nh3 filters by property name, and keeps `color: expression(...)` as it is.
- Links get `rel="noopener noreferrer"`.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

TAGS = frozenset(
    {
        "p", "br", "hr", "div", "span", "blockquote", "pre", "code",
        "strong", "b", "em", "i", "u", "s", "strike", "del", "ins", "sub", "sup", "small",
        "h1", "h2", "h3", "h4", "h5", "h6",
        "ul", "ol", "li", "dl", "dt", "dd",
        "table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td",
        "img", "figure", "figcaption", "a",
    }
)  # fmt: skip
_CELL = {"colspan", "rowspan", "align", "valign", "width", "height", "style"}
ATTRIBUTES = {
    "*": {"style"},
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "table": {"border", "cellpadding", "cellspacing", "width", "align"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "td": _CELL,
    "th": _CELL,
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
STYLE_PROPERTIES = frozenset(
    {
        "color", "background-color",
        "font-size", "font-weight", "font-style", "font-family",
        "text-align", "text-decoration", "text-indent", "vertical-align",
        "line-height", "letter-spacing", "white-space",
        "width", "height", "max-width",
        "margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
        "padding", "padding-top", "padding-bottom", "padding-left", "padding-right",
        "border", "border-collapse", "border-color", "border-style", "border-width",
    }
)  # fmt: skip


# rgb(255, 0, 0) is what editors write for a colour; any other "(" is a CSS function.
_COLOUR_FUNCTION = re.compile(r"\b(?:rgba?|hsla?)\(", re.IGNORECASE)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        rest = _COLOUR_FUNCTION.sub("", value)
        if "(" in rest or "\\" in rest:
            return None
    return value


@cache
def _cleaner() -> Any:
    import nh3  # on first use: app.py stays free of it (cold start)

    return nh3.Cleaner(
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        clean_content_tags={"script", "style"},
        filter_style_properties=set(STYLE_PROPERTIES),
        link_rel="noopener noreferrer",
        strip_comments=True,
        attribute_filter=_attribute_filter,
    )


def sanitize_html(text: str) -> str:
    """The HTML with only what a product page may show (see the module's rules)."""
    if not text:
        return ""
    return str(_cleaner().clean(text))
