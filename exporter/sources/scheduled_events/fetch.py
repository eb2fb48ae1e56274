"""Polling IMDS for the Scheduled Events document (plain HTTP to the link-local address, no proxy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from exporter import __version__
from exporter.core.errors import Reason, SourceError, reason_for_status
from exporter.sources.scheduled_events.model import Snapshot
from exporter.sources.scheduled_events.parse import decode, parse

if TYPE_CHECKING:
    from exporter.core.source import FetchContext
    from exporter.sources.scheduled_events import Options

PATH = "/metadata/scheduledevents"
API = "imds"
USER_AGENT = f"azure-update-exporter/{__version__}"


def report(snapshot: Snapshot, previous: Snapshot | None, ctx: FetchContext[Options, Snapshot]) -> None:
    """Counts and logs the document's issues that were not already in the previous document."""
    seen = {issue.key for issue in previous.issues} if previous is not None else set()
    ctx.report(snapshot.issues, already_reported=seen)


def fetch(ctx: FetchContext[Options, Snapshot]) -> Snapshot:
    opts = ctx.options
    url = opts.endpoint.rstrip("/") + PATH
    # Until IMDS has answered once in this process the call may be the one that enables the
    # service (up to ~2 min); afterwards a slow answer is a failure worth seeing within seconds.
    # Connecting is always quick on Azure (link-local), so off Azure fails fast either way.
    read_timeout = opts.first_request_timeout if ctx.previous is None else opts.request_timeout
    read_timeout = max(0.05, min(read_timeout, ctx.remaining()))
    with requests.Session() as session:
        session.trust_env = False  # IMDS must never go through a proxy (reference §3.1)
        try:
            response = session.get(
                url,
                params={"api-version": opts.api_version},
                headers={"Metadata": "true", "User-Agent": USER_AGENT},
                timeout=(min(opts.request_timeout, read_timeout), read_timeout),
                allow_redirects=False,
            )
        except requests.ConnectionError as exc:  # includes ConnectTimeout
            ctx.stats.record(API, "error")
            raise SourceError(
                Reason.CONNECTION,
                f"IMDS unreachable at {opts.endpoint} (not on an Azure VM, or blocked): {type(exc).__name__}",
            ) from exc
        except requests.Timeout as exc:
            ctx.stats.record(API, "error")
            raise SourceError(Reason.TIMEOUT, f"IMDS did not answer within {read_timeout:g}s") from exc
    ctx.stats.record(API, response.status_code)
    if response.status_code != 200:
        raise SourceError(_reason(response.status_code), _error_message(response))
    snapshot = parse(decode(response.content), ctx.now(), opts.node)
    report(snapshot, ctx.previous, ctx)
    return snapshot


def _reason(status: int) -> Reason:
    if status == 410:
        # IMDS uses 410 for "not ready yet, retry for up to 70 s" (reference §3.4), not "gone".
        return Reason.SERVER_ERROR
    return reason_for_status(status)


def _error_message(response: requests.Response) -> str:
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            detail = body["error"]
    except ValueError:
        detail = response.text
    detail = " ".join(detail.split())[:200]
    return f"IMDS answered HTTP {response.status_code}" + (f": {detail}" if detail else "")
