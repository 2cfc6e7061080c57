"""The FastAPI application: health checks, webhooks, the REST API, `/metrics` and the dashboard.

`create_app` builds one application around an engine and a configuration.
The clock and the SNS fetcher are parameters so that tests control time and
keep every request on loopback.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timezone

import sqlalchemy as sa
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from inboxwatch import __version__
from inboxwatch.config.models import Config
from inboxwatch.store.health import store_status
from inboxwatch.web import api_alerts, api_checks, api_export, api_ingest, api_metrics, api_overview, api_quarantine, api_silences, api_stream, api_tokens, webhooks
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.metrics import StoreCollector, webhook_counter
from inboxwatch.web.pages.setup import add_dashboard
from inboxwatch.web.verify.registry import build_verifier
from inboxwatch.web.verify.sns import CertificateCache, Fetcher, https_fetch

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def create_app(
    engine: sa.Engine,
    config: Config,
    clock: Callable[[], datetime] = utc_now,
    *,
    sns_fetch: Fetcher = https_fetch,
    environ: Mapping[str, str] = os.environ,
) -> FastAPI:
    """Build the application; raises ConfigError when a webhook secret variable is unset."""
    registry = CollectorRegistry()
    registry.register(StoreCollector(engine, clock))
    certificates = CertificateCache(sns_fetch)
    verifiers = {esp: build_verifier(esp, settings, certificates, environ) for esp, settings in config.webhooks.items()}
    context = WebContext(
        engine=engine,
        config=config,
        clock=clock,
        registry=registry,
        webhook_requests=webhook_counter(registry),
        verifiers=verifiers,
        sns_fetch=sns_fetch,
    )

    # The interactive /docs and /redoc pages load their scripts from a CDN, which an offline
    # install cannot reach, so they are off; /openapi.json serves the document for other tools.
    app = FastAPI(
        title="inboxwatch",
        version=__version__,
        description="Email deliverability monitoring: webhooks, metrics and alerts.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = context
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["health"], summary="The process is up")
    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["health"], summary="The store answers and its schema is current")
    app.add_api_route("/metrics", metrics, methods=["GET"], tags=["health"], summary="Prometheus metrics")
    # api_stream comes before api_alerts, whose `/api/v1/alerts/{alert_id}` would otherwise match `stream`.
    for module in (webhooks, api_metrics, api_overview, api_stream, api_alerts, api_silences, api_quarantine, api_ingest, api_tokens, api_export, api_checks):
        app.include_router(module.router)
    add_dashboard(app)
    log.debug("HTTP application built with webhook receivers for %s", ", ".join(sorted(verifiers)) or "no ESP")
    return app


def healthz() -> dict[str, str]:
    return {"status": "ok"}


def readyz(context: WebContext = Depends(web_context)) -> Response:
    try:
        status = store_status(context.engine)
    except sa.exc.SQLAlchemyError as exc:
        log.error("readiness check failed: the store is unreachable: %s", exc)
        return JSONResponse({"status": "unavailable", "detail": "store unreachable: %s" % type(exc).__name__}, 503)
    body = {"current": list(status.current), "head": list(status.head)}
    if not status.at_head:
        return JSONResponse({"status": "unavailable", "detail": "schema is not at the newest migration", **body}, 503)
    return JSONResponse({"status": "ok", **body}, 200)


def metrics(context: WebContext = Depends(web_context)) -> Response:
    return Response(generate_latest(context.registry), media_type=CONTENT_TYPE_LATEST)
