"""Delivery of outbox notifications to channels (email, webhook, Slack, PagerDuty, Twilio SMS, Apprise), with retries.

`sender.OutboxSender` drains the outbox. Each channel only sends and reports
whether a failure is worth retrying, and `retry.RetryPolicy` decides when.
"""
