"""Safe XML parsing: documents without a document type declaration take the fast parser, the rest defusedxml."""

from __future__ import annotations

import pytest

from inboxwatch.errors import ParseError
from inboxwatch.parsers.xmlsafe import parse_xml

ENTITY_DOCUMENT = '<?xml version="1.0" encoding="{encoding}"?>\n<!{doctype} feedback [<!ENTITY lol "lol">]>\n<feedback>&lol;</feedback>\n'


@pytest.mark.parametrize(
    ("encoding", "doctype", "expected"),
    [
        pytest.param("utf-8", "DOCTYPE", "unsafe XML rejected", id="utf-8"),
        # XML names are case-sensitive, so expat rejects a lowercase declaration as a syntax error.
        pytest.param("utf-8", "doctype", "invalid XML", id="lowercase"),
        pytest.param("utf-16", "DOCTYPE", "unsafe XML rejected", id="utf-16"),
    ],
)
def test_parse_xml_entity_declaration_rejected(encoding, doctype, expected):
    data = ENTITY_DOCUMENT.format(encoding=encoding, doctype=doctype).encode(encoding)
    with pytest.raises(ParseError) as error:
        parse_xml(data, "feedback", "test")
    assert expected in str(error.value)


def test_parse_xml_plain_document_parsed():
    document = parse_xml(b'<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0"><version>1.0</version></feedback>', "feedback", "test")
    assert document.root.tag == "feedback"
    assert document.namespace == "urn:ietf:params:xml:ns:dmarc-2.0"
    assert document.root.findtext("version") == "1.0"
    assert document.warnings == []


def test_parse_xml_namespace_declared_below_root_stripped():
    data = b'<feedback><report_metadata xmlns:x="urn:example"><x:org_name>Receiver</x:org_name></report_metadata></feedback>'
    document = parse_xml(data, "feedback", "test")
    assert document.namespace is None
    assert document.root.find("report_metadata/org_name").text == "Receiver"


def test_parse_xml_without_namespaces_tags_unchanged():
    document = parse_xml(b"<feedback><record><row/></record></feedback>", "feedback", "test")
    assert [element.tag for element in document.root.iter()] == ["feedback", "record", "row"]
