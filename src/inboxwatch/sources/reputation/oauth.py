"""OAuth 2.0 access tokens for the Postmaster Tools API.

Two grants: a service account signs a JWT assertion with its private key
(RFC 7523, RS256, as Google's "Using OAuth 2.0 for Server to Server
Applications" describes), or an installed app's refresh token is exchanged
(RFC 6749 section 6). Either way the token endpoint is configurable. A token
is reused until a minute before it expires, and `invalidate` drops it when
the API answers 401, so an expired or revoked token is replaced once.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import httpx
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from inboxwatch.errors import FeedError
from inboxwatch.sources.reputation.http import request_with_retries

log = logging.getLogger(__name__)

# v1 traffic stats need postmaster.readonly; the v2 methods (domainStats.query,
# getComplianceStatus) need postmaster.traffic.readonly, according to the
# "Authorization scopes" of each method in the v2 reference
# (developers.google.com/workspace/gmail/postmaster/reference/rest/v2/domains.domainStats/query).
POSTMASTER_SCOPE = "https://www.googleapis.com/auth/postmaster.readonly https://www.googleapis.com/auth/postmaster.traffic.readonly"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"

# Google accepts assertions valid for at most one hour.
ASSERTION_LIFETIME = timedelta(hours=1)
# A token is replaced this long before it expires, so a request never carries one that expires in flight.
EXPIRY_MARGIN = timedelta(minutes=1)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenSource:
    """Fetches and caches access tokens from one token endpoint with one grant."""

    def __init__(
        self,
        token_url: str,
        grant: Callable[[datetime], dict[str, str]],
        *,
        secrets: tuple[str, ...] = (),
        attempts: int = 3,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.token_url = token_url
        self.grant = grant
        self.secrets = secrets
        self.attempts = attempts
        self.clock = clock
        self.sleep = sleep
        self._token: str | None = None
        self._expires_at: datetime | None = None

    def token(self, client: httpx.Client) -> str:
        now = self.clock()
        if self._token is not None and self._expires_at is not None and now < self._expires_at - EXPIRY_MARGIN:
            return self._token
        form = self.grant(now)
        response = request_with_retries(
            client,
            "POST",
            self.token_url,
            what="OAuth token request",
            attempts=self.attempts,
            secrets=self.secrets + tuple(form.values()),
            sleep=self.sleep,
            data=form,
        )
        try:
            payload = response.json()
            token = payload["access_token"]
            lifetime = int(payload.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise FeedError("OAuth token request failed: response has no access_token and expires_in") from None
        if not isinstance(token, str) or not token:
            raise FeedError("OAuth token request failed: access_token is empty")
        self._token = token
        self._expires_at = now + timedelta(seconds=lifetime)
        log.info("OAuth token obtained from %s, valid for %ds", httpx.URL(self.token_url).host, lifetime)
        return token

    def invalidate(self) -> None:
        self._token = None
        self._expires_at = None


def service_account_grant(key_info: dict[str, str], token_url: str, scope: str = POSTMASTER_SCOPE) -> Callable[[datetime], dict[str, str]]:
    """Return a grant that signs a fresh JWT assertion for a service account's JSON key."""
    try:
        email = key_info["client_email"]
        private_key = serialization.load_pem_private_key(key_info["private_key"].encode(), password=None)
    except KeyError as exc:
        raise FeedError("invalid service account key: missing %s" % exc.args[0]) from None
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise FeedError("invalid service account key: private_key is not a PEM RSA key (%s)" % type(exc).__name__) from None
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise FeedError("invalid service account key: private_key is not an RSA key")
    key_id = key_info.get("private_key_id")

    def grant(now: datetime) -> dict[str, str]:
        header = {"alg": "RS256", "typ": "JWT", **({"kid": key_id} if key_id else {})}
        issued = int(now.timestamp())
        claims = {"iss": email, "scope": scope, "aud": token_url, "iat": issued, "exp": issued + int(ASSERTION_LIFETIME.total_seconds())}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return {"grant_type": JWT_BEARER_GRANT, "assertion": signing_input + "." + b64url(signature)}

    return grant


def refresh_token_grant(client_id: str, client_secret: str, refresh_token: str) -> Callable[[datetime], dict[str, str]]:
    def grant(now: datetime) -> dict[str, str]:
        return {"grant_type": "refresh_token", "client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token}

    return grant


def load_service_account(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except OSError as exc:
        raise FeedError("cannot read service account key %s: %s" % (path, exc.strerror or exc)) from None
    except ValueError:
        raise FeedError("invalid service account key %s: not JSON" % path) from None
    if not isinstance(data, dict):
        raise FeedError("invalid service account key %s: expected a JSON object" % path)
    return data
