"""JSON forms of the route and escalation snapshots frozen onto alerts and kept in the notification log."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from inboxwatch.model.alerts import EscalationLevel, EscalationSnapshot, RouteSnapshot


# A cycle writes the same few snapshots onto thousands of alerts, so their
# JSON forms are cached. Callers must not change the returned dict.
@functools.lru_cache(maxsize=4096)
def route_to_json(route: RouteSnapshot) -> dict[str, Any]:
    return {
        "route": route.route,
        "channels": list(route.channels),
        "group_by": list(route.group_by),
        "group_wait_seconds": route.group_wait.total_seconds(),
        "group_interval_seconds": route.group_interval.total_seconds(),
        "repeat_interval_seconds": route.repeat_interval.total_seconds(),
        "active_windows": list(route.active_windows),
        "mute_windows": list(route.mute_windows),
        "escalation_policy": route.escalation_policy,
    }


def route_from_json(data: dict[str, Any]) -> RouteSnapshot:
    # Loading the open alerts decodes the same few snapshots thousands of
    # times, so equal snapshots are built once.
    key = (
        data["route"],
        tuple(data.get("channels") or ()),
        tuple(data.get("group_by") or ()),
        data.get("group_wait_seconds") or 0,
        data.get("group_interval_seconds") or 0,
        data.get("repeat_interval_seconds") or 0,
        tuple(data.get("active_windows") or ()),
        tuple(data.get("mute_windows") or ()),
        data.get("escalation_policy"),
    )
    return build_route(key)


@functools.lru_cache(maxsize=4096)
def build_route(key: tuple) -> RouteSnapshot:
    route, channels, group_by, group_wait, group_interval, repeat_interval, active, mute, policy = key
    return RouteSnapshot(
        route=route,
        channels=channels,
        group_by=group_by,
        group_wait=timedelta(seconds=group_wait),
        group_interval=timedelta(seconds=group_interval),
        repeat_interval=timedelta(seconds=repeat_interval),
        active_windows=active,
        mute_windows=mute,
        escalation_policy=policy,
    )


def escalation_to_json(snapshot: EscalationSnapshot | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    levels = [{"after_seconds": level.after.total_seconds(), "channels": list(level.channels)} for level in snapshot.levels]
    return {"policy": snapshot.policy, "levels": levels}


def escalation_from_json(data: dict[str, Any] | None) -> EscalationSnapshot | None:
    if not data:
        return None
    levels = tuple(
        EscalationLevel(timedelta(seconds=level["after_seconds"]), tuple(level["channels"])) for level in data.get("levels") or ()
    )
    return EscalationSnapshot(data["policy"], levels)
