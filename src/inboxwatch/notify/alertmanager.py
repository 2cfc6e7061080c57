"""The Prometheus Alertmanager webhook payload (version 4), for receivers built for Alertmanager.

Field names and meanings follow the `webhook_config` section of
Alertmanager's configuration documentation (prometheus.io/docs/alerting/
latest/configuration/#webhook_config). No I/O.
"""

from __future__ import annotations

from typing import Any

from inboxwatch.notify.alertgroup import AlertGroup, AlertItem, alert_page_url
from inboxwatch.notify.notification import Notification

# Alertmanager sends this zero time as `endsAt` of an alert still firing.
ZERO_TIME = "0001-01-01T00:00:00Z"


def alertmanager_payload(
    notification: Notification, group: AlertGroup, receiver: str, external_url: str | None
) -> dict[str, Any]:
    """Build the version 4 body for one notification.

    Labels get `alertname` (the rule), `severity` and `tenant`, which is
    where Alertmanager receivers look for them; the summary goes into
    the `summary` annotation.
    """
    alerts = [alert_document(alert, external_url) for alert in group.alerts]
    common_annotations = common_items([document["annotations"] for document in alerts])
    common_labels = common_items([document["labels"] for document in alerts])
    return {
        "version": "4",
        "groupKey": group.group_key,
        "truncatedAlerts": 0,
        "status": group.status,
        "receiver": receiver,
        "groupLabels": {key: str(value) for key, value in group.group_labels.items()},
        "commonLabels": common_labels,
        "commonAnnotations": common_annotations,
        "externalURL": external_url or "",
        "alerts": alerts,
    }


def alert_document(alert: AlertItem, external_url: str | None) -> dict[str, Any]:
    labels = {key: str(value) for key, value in alert.labels.items()}
    labels.setdefault("alertname", alert.rule)
    if alert.severity:
        labels.setdefault("severity", alert.severity)
    if alert.tenant:
        labels.setdefault("tenant", alert.tenant)

    annotations = {key: str(value) for key, value in alert.annotations.items()}
    if alert.summary:
        annotations.setdefault("summary", alert.summary)
    for key in ("value", "threshold", "denominator"):
        figure = getattr(alert, key)
        if figure is not None:
            annotations.setdefault(key, str(figure))

    return {
        "status": alert.status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": alert.starts_at or ZERO_TIME,
        "endsAt": alert.resolved_at if alert.status == "resolved" and alert.resolved_at else ZERO_TIME,
        "generatorURL": alert_page_url(external_url, alert.alert_id) or "",
        "fingerprint": alert.fingerprint,
    }


def common_items(mappings: list[dict[str, str]]) -> dict[str, str]:
    if not mappings:
        return {}
    common = dict(mappings[0])
    for other in mappings[1:]:
        common = {key: value for key, value in common.items() if other.get(key) == value}
    return common
