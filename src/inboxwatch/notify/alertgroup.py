"""A notification's alerts as a group, whichever payload shape the outbox row has.

An outbox payload describes either one alert (the fields of
`store.alerts.notification_payload` at the top level) or a group of alerts
(`alerts: [...]` with those fields per alert, plus `group_labels`,
`group_key`, a group `summary` and optionally `status`), as
`alerting.payloads.group_payload` writes it. Channels render from `AlertGroup`, so both
shapes look the same to them. No I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

# Severity names from lowest to highest, as `model.alerts.Severity` spells them.
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}

# Group status by outbox reason; an acknowledged alert is still firing.
STATUS_BY_REASON = {"resolved": "resolved"}

# An alert's page under the channel's `external_url`.
# NOTE: this is the HTTP API's alert resource; point it at the dashboard's
# alert page once the dashboard has one.
ALERT_PATH = "/api/v1/alerts/%s"


@dataclasses.dataclass(frozen=True)
class AlertItem:
    """One alert of a notification, with the payload fields channels render."""

    rule: str
    severity: str
    state: str
    summary: str
    labels: Mapping[str, Any]
    value: float | None
    threshold: float | None
    denominator: int | None
    tenant: str
    fingerprint: str
    alert_id: int | None
    fired_at: str | None
    resolved_at: str | None
    annotations: Mapping[str, Any]
    fields: Mapping[str, Any]

    @property
    def status(self) -> str:
        """`resolved` for a resolved alert, else `firing` (Alertmanager's two statuses)."""
        return "resolved" if self.state == "resolved" else "firing"

    @property
    def starts_at(self) -> str | None:
        return self.fired_at or self.fields.get("pending_since")


@dataclasses.dataclass(frozen=True)
class AlertGroup:
    """The alerts one notification is about.

    `group_key` identifies the group across notifications (the same on
    trigger and resolve), so receivers that deduplicate by key (PagerDuty's
    dedup_key, Alertmanager's groupKey) treat them as one incident.
    """

    reason: str
    status: str
    group_key: str
    group_labels: Mapping[str, Any]
    alerts: tuple[AlertItem, ...]
    # The alerting layer's one-line summary of a group payload; empty for a single alert.
    summary: str = ""

    @property
    def severity(self) -> str:
        """The highest severity among the alerts, or an empty string without alerts."""
        severities = [alert.severity for alert in self.alerts if alert.severity]
        if not severities:
            return ""
        return max(severities, key=lambda name: SEVERITY_RANK.get(name, -1))

    @property
    def common_labels(self) -> dict[str, Any]:
        """Labels with the same value on every alert."""
        if not self.alerts:
            return dict(self.group_labels)
        common = dict(self.alerts[0].labels)
        for alert in self.alerts[1:]:
            common = {key: value for key, value in common.items() if alert.labels.get(key) == value}
        return common

    @property
    def firing(self) -> list[AlertItem]:
        return [alert for alert in self.alerts if alert.status == "firing"]

    @property
    def resolved(self) -> list[AlertItem]:
        return [alert for alert in self.alerts if alert.status == "resolved"]


def read_group(payload: Mapping[str, Any], reason: str) -> AlertGroup:
    """Read a single-alert or a group payload into an AlertGroup."""
    raw_alerts = payload.get("alerts")
    if isinstance(raw_alerts, Sequence) and not isinstance(raw_alerts, str):
        alerts = tuple(read_alert(item) for item in raw_alerts if isinstance(item, Mapping))
        group_labels = mapping(payload.get("group_labels"))
        summary = str(payload.get("summary") or "").strip()
    else:
        alerts = (read_alert(payload),)
        group_labels = {"alertname": alerts[0].rule, **alerts[0].labels}
        summary = ""

    status = str(payload.get("status") or STATUS_BY_REASON.get(reason, "firing"))
    group_key = str(payload.get("group_key") or default_group_key(alerts, group_labels))
    return AlertGroup(
        reason=reason, status=status, group_key=group_key, group_labels=group_labels, alerts=alerts, summary=summary
    )


def read_alert(fields: Mapping[str, Any]) -> AlertItem:
    return AlertItem(
        rule=str(fields.get("rule") or "alert"),
        severity=str(fields.get("severity") or ""),
        state=str(fields.get("state") or "firing"),
        summary=str(fields.get("summary") or "").strip(),
        labels=mapping(fields.get("labels")),
        value=fields.get("value"),
        threshold=fields.get("threshold"),
        denominator=fields.get("denominator"),
        tenant=str(fields.get("tenant") or ""),
        fingerprint=str(fields.get("fingerprint") or ""),
        alert_id=fields.get("alert_id"),
        fired_at=fields.get("fired_at"),
        resolved_at=fields.get("resolved_at"),
        annotations=mapping(fields.get("annotations")),
        fields=fields,
    )


def default_group_key(alerts: Sequence[AlertItem], group_labels: Mapping[str, Any]) -> str:
    """Key a group without a stored `group_key`: the fingerprint of a lone alert, else its labels."""
    if len(alerts) == 1 and alerts[0].fingerprint:
        return alerts[0].fingerprint
    return "{}:" + "{%s}" % ",".join('%s="%s"' % (key, value) for key, value in sorted(group_labels.items()))


def alert_page_url(external_url: str | None, alert_id: int | None) -> str | None:
    if not external_url or alert_id is None:
        return None
    return external_url + ALERT_PATH % alert_id


def mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}
