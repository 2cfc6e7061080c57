#!/usr/bin/env python3
"""Measure the ESP event parsers alone: events per second, in CPU time.

Builds a payload in memory and parses it `--repeat` times, printing the best
run. The SendGrid payload is one JSON array of delivered events. The SES
payload is a JSON Lines stream (as Firehose writes it) of permanent bounces,
so every event also goes through the bounce classifier, the slowest path.

    python3 bench/parse_esp.py --kind sendgrid --events 50000
    python3 bench/parse_esp.py --kind ses --events 20000
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import time

from inboxwatch.parsers import sendgrid, ses
from inboxwatch.parsers.base import ParseContext


def sendgrid_batch(events: int) -> bytes:
    batch = [
        {
            "email": "r%d@example.org" % number,
            "timestamp": 1772445600 + number,
            "event": "delivered",
            "sg_event_id": "event-%d" % number,
            "ip": "192.0.2.1",
            "response": "250 2.0.0 OK",
            "smtp-id": "<m%d@sender.example>" % number,
            "category": ["newsletter"],
        }
        for number in range(events)
    ]
    return json.dumps(batch).encode()


def ses_bounce_lines(events: int) -> bytes:
    lines = []
    for number in range(events):
        address = "r%d@example.org" % number
        bounce = {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "feedbackId": "feedback-%d" % number,
            "bouncedRecipients": [{"emailAddress": address, "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
        }
        mail = {"messageId": "m%d" % number, "destination": [address], "timestamp": "2026-03-02T10:00:00Z"}
        lines.append(json.dumps({"eventType": "Bounce", "mail": mail, "bounce": bounce}))
    return "\n".join(lines).encode()


PAYLOADS = {"sendgrid": (sendgrid.PARSER, sendgrid_batch), "ses": (ses.PARSER, ses_bounce_lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=sorted(PAYLOADS), default="sendgrid")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    spec, build = PAYLOADS[args.kind]
    data = build(args.events)
    best = float("inf")
    items = 0
    for _ in range(args.repeat):
        started = time.process_time()
        items = sum(1 for _ in spec.parse(io.BytesIO(data), ParseContext()))
        best = min(best, time.process_time() - started)
    print(
        "%s: %d events, %.1f MB, best CPU time %.2f s, %.0f events/s (Python %s, %s)"
        % (args.kind, items, len(data) / 1e6, best, items / best, platform.python_version(), platform.processor() or platform.machine())
    )


if __name__ == "__main__":
    main()
