"""MTA-STS (RFC 8461): the _mta-sts TXT record and the policy file fetched over HTTPS."""

from __future__ import annotations

import logging
import re
import ssl

import httpx

from inboxwatch.dnscheck.findings import Level, Problem, RecordCheck, error, finish, lookup_failure, missing, warning
from inboxwatch.dnscheck.resolver import Resolver
from inboxwatch.dnscheck.tags import first_tag_is, parse_tags

logger = logging.getLogger(__name__)

# RFC 8461 section 3.3: the policy lives at this well-known HTTPS URL.
DEFAULT_POLICY_URL = "https://mta-sts.{domain}/.well-known/mta-sts.txt"
# RFC 8461 section 3.2: max_age is at most 31557600 seconds (about one year).
MAX_POLICY_AGE = 31557600
# RFC 8461 section 3.3: policies larger than 64 KiB may be ignored.
MAX_POLICY_BYTES = 64 * 1024
_POLICY_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")


def judge_txt(text: str) -> list[Problem]:
    problems: list[Problem] = []
    if not first_tag_is(text, "v", "STSv1"):
        problems.append(error("_mta-sts record must start with v=STSv1 (RFC 8461 section 3.1)"))
    tags, tag_problems = parse_tags(text)
    problems.extend(tag_problems)
    if not _POLICY_ID.match(tags.get("id", "")):
        problems.append(error("_mta-sts id=%r is invalid, expected 1 to 32 letters and digits" % tags.get("id", "")))
    return problems


def parse_policy(text: str) -> tuple[dict[str, object], list[Problem]]:
    """Parse the "key: value" lines of a policy file (RFC 8461 section 3.2)."""
    policy: dict[str, object] = {"mx": []}
    problems: list[Problem] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        key, separator, value = line.partition(":")
        if not separator:
            problems.append(error("policy line %r is invalid, expected KEY: VALUE" % line))
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "mx":
            policy["mx"].append(value.lower())
        else:
            policy[key] = value
    if policy.get("version") != "STSv1":
        problems.append(error("policy version is %r, expected STSv1" % policy.get("version")))
    mode = policy.get("mode")
    if mode not in ("enforce", "testing", "none"):
        problems.append(error("policy mode is %r, expected enforce, testing or none" % mode))
    elif mode == "testing":
        problems.append(warning("policy mode is testing: failures are reported but mail is still delivered"))
    age = str(policy.get("max_age", ""))
    if not age.isdigit() or int(age) > MAX_POLICY_AGE:
        problems.append(error("policy max_age is %r, expected whole seconds up to %d (RFC 8461 section 3.2)" % (age, MAX_POLICY_AGE)))
    if mode in ("enforce", "testing") and not policy["mx"]:
        problems.append(error("policy lists no mx patterns, so no MX host can match"))
    return policy, problems


def mx_matches(pattern: str, host: str) -> bool:
    # RFC 8461 section 4.1: "*.example.com" matches exactly one extra leftmost label.
    host = host.lower().rstrip(".")
    pattern = pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        label, _, rest = host.partition(".")
        return bool(label) and rest == pattern[2:]
    return host == pattern


def unmatched_hosts(policy: dict[str, object], mx_hosts: list[str]) -> list[str]:
    return [host for host in mx_hosts if not any(mx_matches(pattern, host) for pattern in policy["mx"])]


async def fetch_policy(url: str, verify: ssl.SSLContext | bool, timeout: float) -> tuple[str | None, list[Problem]]:
    # RFC 8461 section 3.3: senders must not follow redirects.
    try:
        async with httpx.AsyncClient(verify=verify, timeout=timeout, follow_redirects=False) as client:
            response = await client.get(url)
    except httpx.HTTPError as failure:
        return None, [error("fetching the MTA-STS policy from %s failed: %s" % (url, failure or type(failure).__name__))]
    if response.status_code != 200:
        return None, [error("fetching the MTA-STS policy from %s failed: HTTP status %d, expected 200" % (url, response.status_code))]
    if len(response.content) > MAX_POLICY_BYTES:
        return None, [error("MTA-STS policy at %s is %d bytes; senders may ignore policies over %d" % (url, len(response.content), MAX_POLICY_BYTES))]
    problems = []
    if not response.headers.get("content-type", "").lower().startswith("text/plain"):
        problems.append(warning("MTA-STS policy is served as %r, RFC 8461 section 3.2 expects text/plain" % response.headers.get("content-type")))
    return response.text, problems


async def check_mta_sts(
    resolver: Resolver,
    domain: str,
    mx_hosts: list[str],
    *,
    policy_url: str = DEFAULT_POLICY_URL,
    verify: ssl.SSLContext | bool = True,
    timeout: float = 10.0,
) -> RecordCheck:
    """Check the TXT record and, when present, the policy at `policy_url` (with {domain} filled in)."""
    name = "_mta-sts." + domain
    lookup = await resolver.query(name, "TXT")
    if lookup.failed:
        return lookup_failure(name, "TXT", lookup.outcome.value)
    records = [text for text in lookup.records if text.lower().replace(" ", "").startswith("v=stsv1")]
    if not records:
        # MTA-STS is optional, so its absence is a note.
        return missing("no MTA-STS record at %s" % name, level=Level.NOTE)
    if len(records) > 1:
        return finish({"txt": records, "policy": None}, [error("%s has %d MTA-STS records; senders then treat the domain as having none (RFC 8461 section 3.1)" % (name, len(records)))])

    problems = judge_txt(records[0])
    text, fetch_problems = await fetch_policy(policy_url.format(domain=domain), verify, timeout)
    problems.extend(fetch_problems)
    policy = None
    if text is not None:
        policy, policy_problems = parse_policy(text)
        problems.extend(policy_problems)
        for host in unmatched_hosts(policy, mx_hosts):
            problems.append(error("MX host %s matches no mx pattern in the MTA-STS policy, so senders enforcing it will not deliver there" % host))
    return finish({"txt": records[0], "policy": policy}, problems)
