"""Turning signals into alerts and notifications: lifecycle, inhibition, silences, routing, grouping, escalation.

`engine.apply_signals` runs one cycle; `cycle.plan_cycle` is its pure core.
"""
