"""Fill in the labels of a delivery event that its source left out.

Metrics group by provider, sending IP and sending domain, but most sources
name only some of them: a Postfix log shows the recipient, the MX host and
the instance name but not the address the instance sends from. The rules
here derive what is missing without guessing: a label that cannot be derived
stays empty.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
from collections.abc import Mapping

from inboxwatch.classify.providers import provider_for_delivery
from inboxwatch.model.events import DeliveryEvent


@dataclasses.dataclass(frozen=True)
class EnrichOptions:
    """Site knowledge used to label events.

    `instance_ips` maps an MTA instance name (Postfix `syslog_name` such as
    `postfix-out1`, or an Exim host name) to the IP address it sends from.
    """

    tenant: str = "default"
    instance_ips: Mapping[str, str] = dataclasses.field(default_factory=dict)


# Cached because every event of a log names one of a few instances.
@functools.lru_cache(maxsize=1024)
def ip_in_instance_name(instance: str) -> str | None:
    """Return the IP address an instance name carries, as in `postfix-203.0.113.10`."""
    candidate = instance.rsplit("-", 1)[-1]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def sender_domain(sender: str | None) -> str | None:
    if not sender or "@" not in sender:
        return None
    return sender.rsplit("@", 1)[1].strip().rstrip(".").lower() or None


def enriched_labels(event: DeliveryEvent, options: EnrichOptions) -> tuple[str | None, str | None, str | None, str]:
    """Return the event's (provider, sending_domain, sending_ip, tenant), filling in those it lacks.

    The store builds its rows from these without copying the event, which
    on a bulk ingest costs more than deriving the labels.
    """
    provider = event.provider or provider_for_delivery(event.recipient_domain, event.relay_host)
    sending_domain = event.sending_domain or sender_domain(event.sender)

    sending_ip = event.sending_ip
    if not sending_ip:
        instance = event.extra.get("instance") if event.extra else None
        if instance:
            sending_ip = options.instance_ips.get(instance) or ip_in_instance_name(instance)

    return provider, sending_domain, sending_ip, event.tenant or options.tenant


def enrich(event: DeliveryEvent, options: EnrichOptions) -> DeliveryEvent:
    """Return the event with the labels of `enriched_labels` set (the event itself when none was missing)."""
    provider, sending_domain, sending_ip, tenant = enriched_labels(event, options)
    changes: dict[str, object] = {}
    if provider != event.provider:
        changes["provider"] = provider
    if sending_domain and sending_domain != event.sending_domain:
        changes["sending_domain"] = sending_domain
    if sending_ip and sending_ip != event.sending_ip:
        changes["sending_ip"] = sending_ip
    if tenant != event.tenant:
        changes["tenant"] = tenant
    return event.replace(**changes) if changes else event
