"""Safe XML parsing with a conservative repair pass for damaged reports.

XML goes through defusedxml only: entity declarations (billion laughs) and
external resources (DTDs, external entities) are rejected, since reports come
from anyone who can send mail to a reporting address.

A report that is not well-formed is repaired only where the fix is
unambiguous, and the caller gets a warning for it:

* text around the single root element is cut away (an unclosed wrapper such
  as a stray `<xs:schema>` before `<feedback>`);
* bytes that are invalid in the declared encoding become U+FFFD;
* a `<` or `&` that cannot start markup is escaped.

Input with two root elements, or with no closing tag for the root, is not
repaired, because either could mean the report is cut short or doubled.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ElementTree

import defusedxml
import defusedxml.ElementTree

from inboxwatch.errors import ParseError

XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>")
DECLARED_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")

# A '<' that cannot start a tag, end tag, comment, CDATA section or processing instruction.
STRAY_LESS_THAN = re.compile(r"<(?![A-Za-z_:/!?])")
# An '&' that does not start a character or entity reference.
STRAY_AMPERSAND = re.compile(r"&(?!#[0-9]+;|#x[0-9A-Fa-f]+;|[A-Za-z_][\w.-]*;)")

# Entities and external DTDs can only be declared in a document type
# declaration, so a document without one is parsed by the C-accelerated
# parser, about 2.5 times as fast as defusedxml's Python-level one.
DOCTYPE_BYTES = re.compile(rb"<!doctype", re.IGNORECASE)
DOCTYPE_TEXT = re.compile(r"<!doctype", re.IGNORECASE)


@dataclasses.dataclass
class XmlDocument:
    """A parsed document: the root element with namespaces stripped from every tag,
    the root's namespace, and what the repair pass changed."""

    root: ElementTree.Element
    namespace: str | None
    warnings: list[str]


def parse_xml(data: bytes, root: str, source: str) -> XmlDocument:
    """Parse `data`, whose root element is expected to be `root`, repairing it if needed.

    Raises `ParseError` when the XML declares entities or external
    resources, or is malformed in a way the repair pass does not fix.
    """
    try:
        element = _fromstring(data)
        return _document(element, [], _may_have_namespaces(data))
    except defusedxml.DefusedXmlException as exc:
        raise unsafe_xml_error(exc, source) from None
    except ElementTree.ParseError as exc:
        first_error = str(exc)

    text, warnings = _repair(data, root, source, first_error)
    try:
        element = _fromstring(text)
    except defusedxml.DefusedXmlException as exc:
        raise unsafe_xml_error(exc, source) from None
    except ElementTree.ParseError:
        raise ParseError("invalid XML: %s" % first_error, source=source) from None
    warnings.insert(0, "malformed XML (%s) was repaired" % first_error)
    return _document(element, warnings, _may_have_namespaces(data))


def unsafe_xml_error(exc: defusedxml.DefusedXmlException, source: str) -> ParseError:
    """Return the ParseError for XML that defusedxml rejected, naming the rejected feature in plain words."""
    return ParseError(
        "unsafe XML rejected: %s; reports must not declare entities or load external resources" % describe_unsafe_feature(exc),
        source=source,
    )


def describe_unsafe_feature(exc: defusedxml.DefusedXmlException) -> str:
    """Describe what the document tried to do, from the fields of defusedxml's exception (defusedxml 0.7)."""
    if isinstance(exc, defusedxml.EntitiesForbidden):
        if exc.sysid or exc.pubid:
            return "the document declares the external entity %r (%s)" % (exc.name, exc.sysid or exc.pubid)
        # Entities that expand into other entities are how a billion-laughs attack multiplies text.
        return "the document declares the entity %r, and entity expansion is not allowed" % exc.name
    if isinstance(exc, defusedxml.DTDForbidden):
        return "the document type declaration <!DOCTYPE %s> is not allowed" % exc.name
    if isinstance(exc, defusedxml.ExternalReferenceForbidden):
        return "the document refers to the external resource %s" % (exc.sysid or exc.pubid)
    return "the document uses an XML feature that is not allowed (%s)" % type(exc).__name__


def _fromstring(data: bytes | str) -> ElementTree.Element:
    """Parse with the C parser when `data` has no document type declaration, else with defusedxml.

    Bytes with a NUL byte may be UTF-16 or UTF-32, where the declaration
    would not be seen as ASCII, so they always go through defusedxml.
    """
    if isinstance(data, bytes):
        plain = b"\x00" not in data and DOCTYPE_BYTES.search(data) is None
    else:
        plain = DOCTYPE_TEXT.search(data) is None
    if plain:
        return ElementTree.fromstring(data)
    return defusedxml.ElementTree.fromstring(data)


def _repair(data: bytes, root: str, source: str, first_error: str) -> tuple[str, list[str]]:
    warnings: list[str] = []
    declaration = XML_DECLARATION.match(data)
    encoding = "utf-8"
    if declaration:
        declared = DECLARED_ENCODING.search(declaration.group(0))
        if declared:
            encoding = declared.group(1).decode("ascii")
        data = data[declaration.end() :]
    try:
        text = data.decode(encoding)
    except LookupError:
        raise ParseError("invalid XML: unknown encoding %r in the XML declaration" % encoding, source=source) from None
    except UnicodeDecodeError as exc:
        warnings.append("invalid %s byte at offset %d replaced" % (encoding, exc.start))
        text = data.decode(encoding, errors="replace")

    text = _cut_to_root(text, root, source, first_error, warnings)

    escaped = STRAY_AMPERSAND.sub("&amp;", STRAY_LESS_THAN.sub("&lt;", text))
    if escaped != text:
        warnings.append("stray '<' or '&' escaped")
    return escaped, warnings


def _cut_to_root(text: str, root: str, source: str, first_error: str, warnings: list[str]) -> str:
    opening = list(re.finditer(r"<(?:[\w.-]+:)?%s(?=[\s>/])" % re.escape(root), text))
    closing = list(re.finditer(r"</(?:[\w.-]+:)?%s\s*>" % re.escape(root), text))
    if len(opening) != 1 or len(closing) != 1 or closing[0].start() < opening[0].start():
        raise ParseError(
            "invalid XML: %s; not repaired because the input has %d <%s> start tags and %d end tags "
            "where exactly one of each is expected" % (first_error, len(opening), root, len(closing)),
            source=source,
        )
    start, end = opening[0].start(), closing[0].end()
    if text[:start].strip() or text[end:].strip():
        warnings.append("text outside the <%s> element ignored" % root)
    return text[start:end]


def _may_have_namespaces(data: bytes) -> bool:
    """Return whether `data` may contain namespaced tags.

    A tag gets a namespace only from an `xmlns` declaration or from the
    predefined `xml:` prefix, so without either every tag is a plain name.
    Bytes with a NUL byte may be UTF-16 or UTF-32, where neither would be
    seen, so they always count as namespaced.
    """
    return b"xmlns" in data or b"xml:" in data or b"\x00" in data


def _document(element: ElementTree.Element, warnings: list[str], namespaced: bool = True) -> XmlDocument:
    """Wrap `element` after replacing each `{namespace}name` tag by its local name,
    since reporters mix namespaces freely. `namespaced` false skips the walk
    over the tree for a document without namespaces."""
    namespace = element.tag[1:].split("}", 1)[0] if element.tag.startswith("{") else None
    if not namespaced:
        return XmlDocument(element, namespace, warnings)
    for node in element.iter():
        if isinstance(node.tag, str) and node.tag.startswith("{"):
            node.tag = node.tag.rsplit("}", 1)[1]
    return XmlDocument(element, namespace, warnings)
