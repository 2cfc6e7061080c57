"""A generator of realistic Postfix logs for outbound mail.

The log is what a sender's outbound Postfix instances write: pickup,
cleanup, qmgr, smtp delivery attempts with real-looking replies from each
mailbox provider, deferrals that are retried, bounces, expiry and removal.
An `Incident` makes one provider reject one sending instance's mail for a
while, the way Microsoft's S3150 block lists do.

Output is deterministic for a given seed, in time order, and streamed, so a
million-line log costs no more memory than a small one.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

# Recipient domains per provider and each provider's share of a typical
# consumer list (an estimate for the demo, not a measurement).
PROVIDER_MIX: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("gmail", ("gmail.com",), 0.42),
    ("microsoft", ("outlook.com", "hotmail.com", "live.com"), 0.20),
    ("yahoo", ("yahoo.com", "aol.com"), 0.12),
    ("apple", ("icloud.com", "me.com"), 0.08),
    ("gmx", ("gmx.de", "web.de"), 0.05),
    ("orange", ("orange.fr",), 0.03),
    ("other", ("example-corp.com", "example-school.edu", "example-isp.net"), 0.10),
)

MX_HOSTS = {
    "gmail": ("gmail-smtp-in.l.google.com", "142.250.102.27"),
    "microsoft": ("outlook-com.olc.protection.outlook.com", "52.101.68.5"),
    "yahoo": ("mta7.am0.yahoodns.net", "67.195.204.72"),
    "apple": ("mx01.mail.icloud.com", "17.57.154.33"),
    "gmx": ("mx00.gmx.net", "212.227.15.15"),
    "orange": ("smtp-in.orange.fr", "80.12.242.10"),
    "other": ("mx.example-hosting.net", "198.51.100.25"),
}

OK_REPLIES = {
    "gmail": "250 2.0.0 OK  1733312000 a640c23a62f3a-aa5f0f1b2c3si12345566b.123 - gsmtp",
    "microsoft": "250 2.6.0 <{msgid}> [InternalId=12345678901234, Hostname=AM7PR02MB1234.eurprd02.prod.outlook.com] 10240 bytes in 0.120, 83.2 KB/sec Queued mail for delivery",
    "yahoo": "250 ok dirdel",
    "apple": "250 2.0.0 Ok: queued as 4Y1abc2Z3dz1xyz",
    "gmx": "250 Requested mail action okay, completed: id=1MxUaB-1tA0z83Cqa-00zF8P",
    "orange": "250 2.0.0 OK",
    "other": "250 2.0.0 Ok: queued as 7F2A11C0042",
}

USER_UNKNOWN = {
    "gmail": "550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser a1si123456 - gsmtp",
    "microsoft": "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [AM4PEPF00025F9A.EURPRD83.prod.outlook.com 2024-12-04T10:00:00.000Z 08DD12345678ABCD]",
    "yahoo": "554 delivery error: dd This user doesn't have a yahoo.com account (someone@yahoo.com) [0] - mta1.mail.bf1.yahoo.com",
    "apple": "550 5.1.1 <someone@icloud.com>: user does not exist",
    "gmx": "550 Requested action not taken: mailbox unavailable",
    "orange": "550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 [416]",
    "other": "550 5.1.1 <someone@example-corp.com>: Recipient address rejected: User unknown in virtual mailbox table",
}

TEMPORARY = {
    "gmail": "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited. gsmtp",
    "microsoft": "451 4.7.500 Server busy. Please try again later from [203.0.113.10]. (S77714) [DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com]",
    "yahoo": "421 4.7.0 [TSS04] Messages from 203.0.113.10 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
    "apple": "450 4.2.1 <someone@icloud.com>: Too many connections, slow down",
    "gmx": "421 gmx.net (mxgmx000) Nemesis ESMTP Service not available. Requested action aborted",
    "orange": "421 mwinf5c10 ME Service refuse. Veuillez essayer plus tard. Service refused, please try later. OFR_999 [999]",
    "other": "451 4.7.1 <someone@example-corp.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example-corp.com.html",
}

MAILBOX_FULL = "552 5.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm gsmtp"

MICROSOFT_BLOCK = (
    "550 5.7.1 Unfortunately, messages from [{ip}] weren't sent. Please contact your Internet service provider "
    "since part of their network is on our block list (S3150). You can also refer your provider to "
    "http://mail.live.com/mail/troubleshooting.aspx#errors. [DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com]"
)


@dataclasses.dataclass(frozen=True)
class Instance:
    """One outbound Postfix instance, bound to one sending IP."""

    syslog_name: str
    ip: str
    host: str = "mta1"


@dataclasses.dataclass(frozen=True)
class Incident:
    """A provider rejecting one instance's mail between `start` and `end`."""

    provider: str
    instance: str
    start: datetime
    end: datetime


@dataclasses.dataclass(frozen=True)
class TrafficPlan:
    start: datetime
    duration: timedelta
    messages: int
    seed: int = 1
    instances: Sequence[Instance] = (
        Instance("postfix-out1", "203.0.113.10"),
        Instance("postfix-out2", "203.0.113.11"),
    )
    sender_domains: Sequence[str] = ("news.shop.example", "mail.shop.example")
    incidents: Sequence[Incident] = ()
    # Probabilities per recipient of each outcome at the first attempt.
    user_unknown: float = 0.008
    mailbox_full: float = 0.002
    temporary: float = 0.02
    # Share of messages with more than one recipient.
    multi_recipient: float = 0.05


def _diurnal_weight(minute_of_day: int) -> float:
    """Relative sending volume by time of day: a quiet night and a daytime peak."""
    hour = minute_of_day / 60.0
    return 0.25 + 0.75 * max(0.0, math.sin(math.pi * (hour - 6.0) / 16.0)) if 6 <= hour <= 22 else 0.25


def _syslog_time(moment: datetime) -> str:
    return "%s %2d %s" % (moment.strftime("%b"), moment.day, moment.strftime("%H:%M:%S"))


class _Clock:
    """Spreads message submissions over the plan's duration with a diurnal shape."""

    def __init__(self, plan: TrafficPlan, rng: random.Random) -> None:
        minutes = max(1, int(plan.duration.total_seconds() // 60))
        weights = [_diurnal_weight((plan.start + timedelta(minutes=m)).hour * 60 + (plan.start + timedelta(minutes=m)).minute) for m in range(minutes)]
        total = sum(weights)
        self._per_minute = [plan.messages * w / total for w in weights]
        self._start = plan.start
        self._rng = rng

    def submissions(self) -> Iterator[datetime]:
        carried = 0.0
        for minute, expected in enumerate(self._per_minute):
            carried += expected
            count = int(carried)
            carried -= count
            base = self._start + timedelta(minutes=minute)
            offsets = sorted(self._rng.random() * 60.0 for _ in range(count))
            for offset in offsets:
                yield base + timedelta(seconds=offset)


class PostfixLogWriter:
    """Turns a `TrafficPlan` into Postfix log lines, in time order."""

    def __init__(self, plan: TrafficPlan) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self._queue_serial = 0
        self._pid = 2000
        self._domains = [(name, domains) for name, domains, _ in PROVIDER_MIX]
        self._weights = [share for _, _, share in PROVIDER_MIX]

    def lines(self) -> Iterator[str]:
        # Pending lines are kept in a heap by time, so retries scheduled for
        # later interleave correctly with new submissions.
        pending: list[tuple[datetime, int, str]] = []
        order = 0
        for submitted in _Clock(self.plan, self.rng).submissions():
            while pending and pending[0][0] <= submitted:
                yield heapq.heappop(pending)[2]
            for moment, text in self._message(submitted):
                order += 1
                heapq.heappush(pending, (moment, order, text))
        while pending:
            yield heapq.heappop(pending)[2]

    def _line(self, moment: datetime, instance: Instance, daemon: str, text: str) -> tuple[datetime, str]:
        self._pid = 2000 + (self._pid + 7) % 30000
        return moment, "%s %s %s/%s[%d]: %s" % (_syslog_time(moment), instance.host, instance.syslog_name, daemon, self._pid, text)

    def _queue_id(self) -> str:
        self._queue_serial += 1
        return "%010X" % (0x4A00000000 + self._queue_serial * 7919)

    def _recipient(self) -> tuple[str, str]:
        provider, domains = self.rng.choices(self._domains, weights=self._weights)[0]
        local = "user%06d" % self.rng.randrange(1_000_000)
        return provider, "%s@%s" % (local, self.rng.choice(domains))

    def _in_incident(self, provider: str, instance: Instance, moment: datetime) -> bool:
        return any(
            incident.provider == provider and incident.instance == instance.syslog_name and incident.start <= moment < incident.end
            for incident in self.plan.incidents
        )

    def _message(self, submitted: datetime) -> list[tuple[datetime, str]]:
        rng = self.rng
        instance = rng.choice(list(self.plan.instances))
        queue_id = self._queue_id()
        sender_domain = rng.choice(list(self.plan.sender_domains))
        sender = "bounce-%d@%s" % (rng.randrange(10**6), sender_domain)
        message_id = "%s.%d@%s" % (queue_id.lower(), rng.randrange(10**9), sender_domain)
        count = 1 if rng.random() >= self.plan.multi_recipient else rng.randint(2, 3)
        recipients = [self._recipient() for _ in range(count)]
        size = rng.randint(8_000, 90_000)

        out = [
            self._line(submitted, instance, "pickup", "%s: uid=1001 from=<%s>" % (queue_id, sender)),
            self._line(submitted, instance, "cleanup", "%s: message-id=<%s>" % (queue_id, message_id)),
            self._line(submitted, instance, "qmgr", "%s: from=<%s>, size=%d, nrcpt=%d (queue active)" % (queue_id, sender, size, count)),
        ]
        last = submitted
        for provider, recipient in recipients:
            last = max(last, self._deliver(out, instance, queue_id, provider, recipient, submitted, message_id))
        out.append(self._line(last, instance, "qmgr", "%s: removed" % queue_id))
        return out

    def _deliver(
        self,
        out: list[tuple[datetime, str]],
        instance: Instance,
        queue_id: str,
        provider: str,
        recipient: str,
        submitted: datetime,
        message_id: str,
    ) -> datetime:
        rng = self.rng
        mx_host, mx_ip = MX_HOSTS[provider]
        relay = "%s[%s]:25" % (mx_host, mx_ip)
        moment = submitted + timedelta(seconds=rng.uniform(0.3, 4.0))
        roll = rng.random()

        def attempt(at: datetime, dsn: str, status: str, reply: str) -> None:
            delay = (at - submitted).total_seconds()
            text = "%s: to=<%s>, relay=%s, delay=%.2f, delays=0.05/0.01/0.2/%.2f, dsn=%s, status=%s (host %s[%s] said: %s)" % (
                queue_id, recipient, relay, delay, max(0.01, delay - 0.26), dsn, status, mx_host, mx_ip, reply,
            )
            if status == "sent":
                text = "%s: to=<%s>, relay=%s, delay=%.2f, delays=0.05/0.01/0.2/%.2f, dsn=%s, status=sent (%s)" % (
                    queue_id, recipient, relay, delay, max(0.01, delay - 0.26), dsn, reply,
                )
            out.append(self._line(at, instance, "smtp", text))

        if self._in_incident(provider, instance, moment):
            attempt(moment, "5.7.1", "bounced", MICROSOFT_BLOCK.format(ip=instance.ip))
            return moment
        if roll < self.plan.user_unknown:
            attempt(moment, "5.1.1", "bounced", USER_UNKNOWN[provider])
            return moment
        roll -= self.plan.user_unknown
        if roll < self.plan.mailbox_full:
            attempt(moment, "5.2.2", "bounced", MAILBOX_FULL)
            return moment
        roll -= self.plan.mailbox_full
        if roll < self.plan.temporary:
            attempt(moment, "4.7.0", "deferred", TEMPORARY[provider])
            moment += timedelta(minutes=rng.choice((5, 10, 15, 30)))
        attempt(moment, "2.0.0", "sent", OK_REPLIES[provider].format(msgid=message_id))
        return moment


def generate_postfix_log(plan: TrafficPlan) -> Iterator[str]:
    """Yield the plan's log lines, without newlines, in time order."""
    return PostfixLogWriter(plan).lines()
