"""Readers that bring bytes in and hand them to parsers."""
