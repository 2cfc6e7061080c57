"""Anomaly detection over hourly counts: pure functions, no I/O, the evaluation time passed in.

`fleet.detect` is the entry point; `findings.to_signal` turns its results
into signals for the alert engine. docs/anomalies.md describes the methods.
"""
