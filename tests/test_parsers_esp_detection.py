"""Format detection picks the right ESP parser for each ESP fixture."""

from __future__ import annotations

import pytest

from esp_support import FIXTURES
from inboxwatch.parsers.base import SNIFF_BYTES
from inboxwatch.parsers.registry import detect

# Each fixture lives in a folder named after the parser kind that must claim it.
ESP_FIXTURES = sorted(path for path in FIXTURES.rglob("*") if path.is_file())


@pytest.mark.parametrize("path", ESP_FIXTURES, ids=[str(path.relative_to(FIXTURES)) for path in ESP_FIXTURES])
def test_detection_picks_esp_for_fixture(path):
    spec = detect(path.read_bytes()[:SNIFF_BYTES], path.name)
    assert spec is not None
    assert spec.kind == path.parent.name
