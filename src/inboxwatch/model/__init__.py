"""Typed records shared by every layer. Standard library only, no I/O."""

from inboxwatch.model.alerts import AlertState, Severity, Signal
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.model.providers import Provider
from inboxwatch.model.records import Rejected

__all__ = ["AlertState", "Severity", "Signal", "DeliveryEvent", "EventType", "Provider", "Rejected"]
