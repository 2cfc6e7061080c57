"""Metric windows, rates, threshold rules and anomaly detection over the store."""
