"""XML that declares entities is rejected with a plain message naming the file and what was refused."""

import pytest

from inboxwatch.errors import ParseError
from inboxwatch.parsers.xmlsafe import parse_xml
from inboxwatch.sources.files import parse_path

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<feedback><report_metadata><org_name>&lol3;</org_name></report_metadata></feedback>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY ext SYSTEM "file:///etc/hostname">]>
<feedback><report_metadata><org_name>&ext;</org_name></report_metadata></feedback>
"""


def test_billion_laughs_message_is_plain():
    with pytest.raises(ParseError) as caught:
        parse_xml(BILLION_LAUGHS, "feedback", "laughs.xml")

    message = str(caught.value)
    assert message.startswith("laughs.xml: unsafe XML rejected: ")
    assert "declares the entity 'lol'" in message
    assert "entity expansion is not allowed" in message
    assert "EntitiesForbidden" not in message
    assert "name=" not in message


def test_external_entity_message_names_resource():
    with pytest.raises(ParseError) as caught:
        parse_xml(EXTERNAL_ENTITY, "feedback", "external.xml")

    message = str(caught.value)
    assert "declares the external entity 'ext' (file:///etc/hostname)" in message
    assert "system_id=" not in message


def test_parse_path_billion_laughs_names_file(tmp_path):
    path = tmp_path / "report.xml"
    path.write_bytes(BILLION_LAUGHS)

    outcome = parse_path(str(path))

    assert outcome.records == []
    assert str(outcome.error).startswith("%s: unsafe XML rejected: the document declares the entity 'lol'" % path)
