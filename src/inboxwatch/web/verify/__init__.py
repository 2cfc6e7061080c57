"""Webhook signature and credential checks, one module per scheme.

Each verifier is pure apart from SNS, which fetches Amazon's signing
certificate. A verifier raises `VerificationError` and returns the
request's one-time nonce where the scheme has one (Mailgun's token).
"""
