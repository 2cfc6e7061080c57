from datetime import datetime, timezone

from inboxwatch.classify.enrich import EnrichOptions, enrich, ip_in_instance_name
from inboxwatch.model.events import DeliveryEvent, EventType

WHEN = datetime(2026, 12, 1, tzinfo=timezone.utc)


def make_event(**fields) -> DeliveryEvent:
    return DeliveryEvent(type=EventType.DELIVERED, time=WHEN, source="postfix", event_id="1", **fields)


def test_enrich_sets_provider_from_consumer_domain():
    event = enrich(make_event(recipient="a@hotmail.com"), EnrichOptions())
    assert event.provider == "microsoft"


def test_enrich_sets_provider_from_relay_for_custom_domain():
    event = enrich(make_event(recipient="a@example.com", relay_host="aspmx.l.google.com"), EnrichOptions())
    assert event.provider == "gmail"


def test_enrich_leaves_unknown_provider_as_other():
    event = enrich(make_event(recipient="a@example.com", relay_host="mx.example.com"), EnrichOptions())
    assert event.provider == "other"


def test_enrich_keeps_provider_given_by_source():
    event = enrich(make_event(recipient="a@gmail.com", provider="yahoo"), EnrichOptions())
    assert event.provider == "yahoo"


def test_enrich_derives_sending_domain_from_sender():
    event = enrich(make_event(sender="bounces@News.Example.COM"), EnrichOptions())
    assert event.sending_domain == "news.example.com"


def test_enrich_maps_instance_to_sending_ip():
    options = EnrichOptions(instance_ips={"postfix-out1": "198.51.100.7"})
    event = enrich(make_event(extra={"instance": "postfix-out1"}), options)
    assert event.sending_ip == "198.51.100.7"


def test_enrich_reads_ip_from_instance_name():
    event = enrich(make_event(extra={"instance": "postfix-203.0.113.10"}), EnrichOptions())
    assert event.sending_ip == "203.0.113.10"


def test_enrich_leaves_sending_ip_empty_without_knowledge():
    event = enrich(make_event(extra={"instance": "postfix"}), EnrichOptions())
    assert event.sending_ip is None


def test_enrich_sets_default_tenant():
    assert enrich(make_event(), EnrichOptions(tenant="acme")).tenant == "acme"
    assert enrich(make_event(tenant="other"), EnrichOptions(tenant="acme")).tenant == "other"


def test_ip_in_instance_name_rejects_non_addresses():
    assert ip_in_instance_name("postfix-out") is None
    assert ip_in_instance_name("postfix-2001:db8::1") == "2001:db8::1"
