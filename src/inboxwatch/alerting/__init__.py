"""Turning signals into alerts: fingerprints, lifecycle, routing, and the outbox writes."""
