"""The async driver that fetches a domain's SPF record tree for `spf.evaluate` and `spf.check_host`."""

from __future__ import annotations

import asyncio

from inboxwatch.dnscheck.resolver import Lookup, Resolver
from inboxwatch.dnscheck.spf import MAX_NAMES_PER_TERM, SpfNode, Term, is_spf, parse_record

# Records fetched per tree at most. A valid tree has at most 11 (the root
# plus 10 lookups); the margin lets the report say how far over the limit a
# tree goes, and the cap stops a hostile tree from fanning out without end.
MAX_FETCHED_RECORDS = 40


class _Counter:
    def __init__(self) -> None:
        self.records = 0


async def fetch_tree(resolver: Resolver, domain: str) -> SpfNode:
    return await fetch_node(resolver, domain.lower().rstrip("."), (), _Counter())


async def fetch_node(resolver: Resolver, domain: str, path: tuple[str, ...], counter: _Counter) -> SpfNode:
    counter.records += 1
    txt = await resolver.query(domain, "TXT")
    texts = tuple(text for text in txt.records if is_spf(text))
    node = SpfNode(domain, txt, texts)
    if txt.failed or len(texts) != 1:
        return node
    node.record = parse_record(texts[0])

    path = path + (domain,)
    targets: dict[int, str] = {}
    for position, term in enumerate(node.record.mechanisms):
        if term.name == "include" and not term.has_macro:
            targets[position] = term.argument.lower().rstrip(".")
    if node.record.redirect is not None and "%" not in node.record.redirect:
        targets[len(node.record.mechanisms)] = node.record.redirect.lower().rstrip(".")

    for position, target in targets.items():
        if target in path:
            node.loops.add(position)
        elif counter.records < MAX_FETCHED_RECORDS:
            node.children[position] = await fetch_node(resolver, target, path, counter)
        else:
            node.truncated = True

    term_queries = [
        (position, fetch_term(resolver, domain, term))
        for position, term in enumerate(node.record.mechanisms)
        if term.name in ("a", "mx", "exists") and not term.has_macro
    ]
    results = await asyncio.gather(*(query for _, query in term_queries))
    node.term_lookups = {position: lookups for (position, _), lookups in zip(term_queries, results)}
    return node


async def fetch_term(resolver: Resolver, domain: str, term: Term) -> tuple[Lookup, ...]:
    target = (term.argument or domain).rstrip(".")
    if term.name == "exists":
        return (await resolver.query(target, "A"),)
    if term.name == "a":
        return tuple(await asyncio.gather(resolver.query(target, "A"), resolver.query(target, "AAAA")))
    mx = await resolver.query(target, "MX")
    exchanges = [record.split()[1] for record in mx.records[:MAX_NAMES_PER_TERM]]
    queries = [resolver.query(host, rdtype) for host in exchanges for rdtype in ("A", "AAAA")]
    return (mx, *await asyncio.gather(*queries))
