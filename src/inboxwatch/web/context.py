"""The state shared by every handler: the engine, the configuration, the clock and the metrics registry."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from fastapi import Request
from prometheus_client import CollectorRegistry, Counter

from inboxwatch.config.models import Config
from inboxwatch.service.ingest import IngestOptions
from inboxwatch.web.verify.registry import Verifier
from inboxwatch.web.verify.sns import Fetcher


@dataclasses.dataclass
class WebContext:
    """Shared state of one application; `create_app` builds it and handlers reach it through `web_context`."""

    engine: sa.Engine
    config: Config
    clock: Callable[[], datetime]
    registry: CollectorRegistry
    webhook_requests: Counter
    verifiers: dict[str, Verifier]
    # Fetches SNS SubscribeURLs; certificate fetches go through the SNS verifier's cache.
    sns_fetch: Fetcher
    # Set when the server starts shutting down, so that endless responses (alert streams) end by themselves.
    stopping: threading.Event = dataclasses.field(default_factory=threading.Event)

    def ingest_options(self, tenant: str | None = None) -> IngestOptions:
        return IngestOptions.from_config(self.config, tenant)


def web_context(request: Request) -> WebContext:
    return request.app.state.context
