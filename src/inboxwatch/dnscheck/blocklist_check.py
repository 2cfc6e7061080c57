"""The async driver for blocklist checks: probe each list's health, then query every asset."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence

from inboxwatch.dnscheck.blocklists import Blocklist, Category
from inboxwatch.dnscheck.dnsbl import (
    Asset,
    Health,
    Status,
    applies,
    assess_health,
    final_status,
    inapplicable_reason,
    probe_name,
    query_name,
    read_answer,
)
from inboxwatch.dnscheck.resolver import Resolver

logger = logging.getLogger(__name__)

# Queries in flight at once; each list's own rate limit lives in the resolver.
# 128 small replies fit the default 208 KiB receive buffer of Linux, so a
# burst is not dropped even where the kernel caps the larger buffer that
# the channel requests.
MAX_CONCURRENT_QUERIES = 128


@dataclasses.dataclass(frozen=True)
class ListingResult:
    asset: Asset
    blocklist: Blocklist
    status: Status
    health: Health
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    categories: tuple[Category, ...] = ()
    reason: str = ""

    def to_json(self) -> dict:
        return {
            "asset": self.asset.value,
            "list": self.blocklist.name,
            "status": self.status.value,
            "codes": list(self.codes),
            "meaning": "; ".join(self.meanings),
            "reason": self.reason,
            "list_health": self.health.value,
            "delist_url": self.blocklist.delist_url,
        }


async def probe_health(resolver: Resolver, blocklist: Blocklist) -> Health:
    listed, clear = await asyncio.gather(
        resolver.query(probe_name(blocklist.listed_probe, blocklist), "A"),
        resolver.query(probe_name(blocklist.clear_probe, blocklist), "A"),
    )
    health = assess_health(blocklist, listed, clear)
    if health is not Health.HEALTHY:
        logger.warning("blocklist %s (%s) is %s: its results are reported as unknown", blocklist.name, blocklist.zone, health.value)
    return health


# The JSON `reason` of an asset's result on a list that is not healthy.
UNHEALTHY_REASONS = {
    Health.REFUSING: "list %s refused the query or answered with an error code",
    Health.ANSWERING_EVERYTHING: "list %s lists its own must-not-be-listed test entry, so it answers every query",
    Health.UNREACHABLE: "list %s is unreachable: its test queries timed out or failed",
    Health.UNVERIFIED: "list %s does not list its own test entry, so a clear result cannot be trusted",
}

# The meaning of a result for an asset that the list does not take.
NOT_APPLICABLE = "not applicable"


def unhealthy_reason(blocklist: Blocklist, health: Health) -> str:
    return UNHEALTHY_REASONS[health] % blocklist.name if health is not Health.HEALTHY else ""


async def check_one(resolver: Resolver, asset: Asset, blocklist: Blocklist, health: Health) -> ListingResult:
    if health is Health.UNREACHABLE:
        # Its test entries already timed out or failed; every query would
        # wait out the same timeouts and retries for an unknown result.
        return ListingResult(asset, blocklist, Status.UNKNOWN, health, reason=unhealthy_reason(blocklist, health))
    name = query_name(asset, blocklist)
    verdict = read_answer(blocklist, await resolver.query(name, "A"))
    status = final_status(health, verdict)
    reason = ""
    if status is Status.LISTED:
        txt = await resolver.query(name, "TXT")
        reason = " ".join(txt.records) if not txt.failed else ""
    elif health is not Health.HEALTHY:
        reason = unhealthy_reason(blocklist, health)
    return ListingResult(asset, blocklist, status, health, verdict.codes, verdict.meanings, verdict.categories, reason)


async def check_blocklists(
    resolver: Resolver,
    assets: Sequence[Asset],
    blocklists: Sequence[Blocklist],
    *,
    max_concurrent: int = MAX_CONCURRENT_QUERIES,
    include_inapplicable: bool = False,
) -> list[ListingResult]:
    """Check each asset on each list it applies to, in asset-then-list order.

    An asset on a list whose health is anything but healthy gets status
    unknown. Its query is still sent so the codes are reported, except on
    an unreachable list. With `include_inapplicable`, each pair of an asset
    and a list that does not take it (a domain on an IP list) gets a result
    too, with status unknown, meaning "not applicable" and the cause as
    its reason. No query is sent for such a pair.
    """
    healths = await asyncio.gather(*(probe_health(resolver, blocklist) for blocklist in blocklists))
    health_by_list = dict(zip((blocklist.name for blocklist in blocklists), healths))
    all_pairs = [(asset, blocklist) for asset in assets for blocklist in blocklists]
    if not include_inapplicable:
        all_pairs = [(asset, blocklist) for asset, blocklist in all_pairs if applies(asset, blocklist)]
    results: list[ListingResult | None] = [None] * len(all_pairs)
    pairs = []
    for index, (asset, blocklist) in enumerate(all_pairs):
        if applies(asset, blocklist):
            pairs.append((index, (asset, blocklist)))
        else:
            reason = inapplicable_reason(asset, blocklist)
            results[index] = ListingResult(asset, blocklist, Status.UNKNOWN, health_by_list[blocklist.name], meanings=(NOT_APPLICABLE,), reason=reason)
    # A fixed pool of workers takes the pairs in turn. One task per pair
    # behind a semaphore did the same, at the cost of thousands of waiting
    # tasks and their wake-ups.
    work = iter(pairs)

    async def worker() -> None:
        for index, (asset, blocklist) in work:
            results[index] = await check_one(resolver, asset, blocklist, health_by_list[blocklist.name])

    await asyncio.gather(*(worker() for _ in range(min(max_concurrent, len(pairs)))))
    return results
