"""DKIM key records (RFC 6376 section 3.6.1): presence, revocation, key type and size."""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from inboxwatch.dnscheck.findings import Problem, RecordCheck, error, finish, lookup_failure, missing, warning
from inboxwatch.dnscheck.resolver import Resolver
from inboxwatch.dnscheck.tags import parse_tags

# RFC 8301 section 3.2: verifiers must not accept RSA keys under 1024 bits,
# and signers SHOULD use at least 2048.
MIN_RSA_BITS = 1024
RECOMMENDED_RSA_BITS = 2048
# RFC 8463 section 3: an Ed25519 key is 32 bytes.
ED25519_KEY_BYTES = 32


def key_record_name(selector: str, domain: str) -> str:
    return "%s._domainkey.%s" % (selector, domain)


def rsa_key_bits(der: bytes) -> int:
    """Return the modulus size of a DER SubjectPublicKeyInfo or PKCS#1 RSAPublicKey."""
    key = load_der_public_key(der)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("key is not an RSA key")
    return key.key_size


def judge_key(selector: str, text: str) -> RecordCheck:
    """Judge one selector's TXT record text."""
    tags, problems = parse_tags(text)
    details = {"selector": selector, "key_type": tags.get("k", "rsa").lower(), "key_bits": None, "testing": False}
    if "v" in tags and tags["v"] != "DKIM1":
        problems.append(error("selector %s: v=%s, expected DKIM1" % (selector, tags["v"])))
    flags = [flag.strip() for flag in tags.get("t", "").split(":") if flag.strip()]
    details["testing"] = "y" in flags
    if details["testing"]:
        problems.append(warning("selector %s is in testing mode (t=y): receivers may ignore failures" % selector))
    if "p" not in tags:
        problems.append(error("selector %s: p= tag missing, the record has no key" % selector))
        return finish(text, problems, **details)
    key_text = "".join(tags["p"].split())
    if not key_text:
        problems.append(error("selector %s is revoked: p= is empty" % selector))
        return finish(text, problems, revoked=True, **details)
    problems.extend(judge_key_data(selector, details, key_text))
    return finish(text, problems, **details)


def judge_key_data(selector: str, details: dict, key_text: str) -> list[Problem]:
    try:
        der = base64.b64decode(key_text, validate=True)
    except (binascii.Error, ValueError):
        return [error("selector %s: p= is not valid base64" % selector)]
    if details["key_type"] == "ed25519":
        details["key_bits"] = len(der) * 8
        if len(der) != ED25519_KEY_BYTES:
            return [error("selector %s: Ed25519 key is %d bytes, expected %d" % (selector, len(der), ED25519_KEY_BYTES))]
        return []
    if details["key_type"] != "rsa":
        return [error("selector %s: unknown key type k=%s, expected rsa or ed25519" % (selector, details["key_type"]))]
    try:
        bits = rsa_key_bits(der)
    except (ValueError, UnsupportedAlgorithm) as failure:
        return [error("selector %s: p= is not a valid RSA public key: %s" % (selector, failure))]
    details["key_bits"] = bits
    if bits < MIN_RSA_BITS:
        return [error("selector %s: RSA key of %d bits; receivers reject keys under %d bits (RFC 8301 section 3.2)" % (selector, bits, MIN_RSA_BITS))]
    if bits < RECOMMENDED_RSA_BITS:
        return [warning("selector %s: RSA key of %d bits; use at least %d (RFC 8301 section 3.2)" % (selector, bits, RECOMMENDED_RSA_BITS))]
    return []


async def check_selector(resolver: Resolver, domain: str, selector: str) -> RecordCheck:
    name = key_record_name(selector, domain)
    lookup = await resolver.query(name, "TXT")
    if lookup.failed:
        return lookup_failure(name, "TXT", lookup.outcome.value, selector=selector)
    if not lookup.records:
        return missing("DKIM selector %s not published at %s" % (selector, name), selector=selector)
    if len(lookup.records) > 1:
        return finish(list(lookup.records), [error("%s has %d TXT records, expected one key record" % (name, len(lookup.records)))], selector=selector)
    return judge_key(selector, lookup.records[0])
