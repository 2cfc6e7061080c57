"""Outbox payloads for group notifications and escalations.

A group payload keeps the top-level fields of a single-alert payload
(rule, severity, state, summary, labels, ...), taken from its lead alert,
the most severe firing one. Channels that render one alert keep working
that way, and `alerts` lists every alert of the notification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from inboxwatch.alerting.lifecycle import SEVERITY_ORDER
from inboxwatch.model.alert_groups import alert_group_keys
from inboxwatch.model.alerts import Alert
from inboxwatch.store.alerts import notification_payload


def group_payload(
    *,
    group_key: str,
    route: str,
    group_labels: Mapping[str, str],
    firing: Sequence[Alert],
    resolved: Sequence[Alert],
    reason: str,
    outbox_reason: str,
    time: datetime,
) -> dict[str, Any]:
    """Build the payload of one group notification."""
    ordered_firing = sorted(firing, key=lambda alert: (-SEVERITY_ORDER[alert.severity], alert.rule, alert.fingerprint))
    lead = ordered_firing[0] if ordered_firing else resolved[0]
    payload = notification_payload(lead, outbox_reason, time)
    payload.update(
        {
            "alert_id": lead.id if len(firing) + len(resolved) == 1 else None,
            "summary": group_summary(lead, len(firing), len(resolved)),
            "decision_reason": reason,
            # Alertmanager's group status: firing while any alert of the group fires.
            "status": "firing" if firing else "resolved",
            "group_key": group_key,
            "group_labels": dict(group_labels),
            "route": route,
            "firing_count": len(firing),
            "resolved_count": len(resolved),
            "alerts": [notification_payload(alert, outbox_reason, time) for alert in [*ordered_firing, *resolved]],
        }
    )
    return payload


def group_summary(lead: Alert, firing: int, resolved: int) -> str:
    if firing + resolved == 1:
        return lead.summary
    counts = []
    if firing:
        counts.append("%d firing" % firing)
    if resolved:
        counts.append("%d resolved" % resolved)
    return "%s: %s" % (", ".join(counts), lead.summary)


def escalation_payload(alert: Alert, level: int, time: datetime) -> dict[str, Any]:
    """Build the payload of an escalation notification: the alert's payload with the policy and level."""
    payload = notification_payload(alert, "escalation", time)
    groups = alert_group_keys(alert)
    if groups:
        # An alert on several routes is in several groups; the first route in
        # tree order names the incident an escalation joins.
        payload["group_key"] = groups[0].key
        payload["group_labels"] = groups[0].labels
        payload["route"] = groups[0].route.route
    payload["escalation_level"] = level
    payload["escalation_policy"] = alert.escalation.policy if alert.escalation is not None else None
    payload["decision_reason"] = "escalation level %d" % level
    return payload
