"""inboxwatch: self-hosted email deliverability monitoring and alerting."""

__version__ = "0.1.0"
