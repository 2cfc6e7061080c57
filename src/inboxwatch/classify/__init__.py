"""Bounce reasons and mailbox-provider detection."""
