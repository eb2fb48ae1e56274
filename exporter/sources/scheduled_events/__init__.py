"""VM Scheduled Events from the Instance Metadata Service (IMDS), polled from inside the VM.

The only advance warning of no-reboot maintenance (Freeze, about 15 minutes ahead) and of Spot
eviction (Preempt, about 30 seconds ahead). Runs on the VM or Kubernetes node itself (the Helm
chart's DaemonSet); off Azure the source is simply down. The exporter never approves events.

    azure_scheduled_event_info{event_id="C7061BAC-…",event_type="Freeze",event_source="Platform",
        resource_type="VirtualMachine",resource="WestNO_0"} 1
    azure_scheduled_event_status{event_id="C7061BAC-…",event_type="Freeze",event_status="Scheduled"} 1
    azure_scheduled_event_status{event_id="C7061BAC-…",event_type="Freeze",event_status="Started"} 0
    azure_scheduled_event_description_info{event_id="C7061BAC-…",event_type="Freeze",description="…"} 1
    azure_scheduled_event_not_before_timestamp_seconds{event_id="C7061BAC-…",event_type="Freeze",
        resource="WestNO_0"} 1.795256818e+09
    azure_scheduled_event_duration_seconds{event_id="C7061BAC-…",event_type="Freeze"} 5
    azure_scheduled_events{event_type="Freeze",event_status="Scheduled"} 1
    azure_scheduled_events{event_type="Reboot",event_status="Scheduled"} 0
    azure_scheduled_events_document_incarnation 2
    azure_scheduled_event_seconds_until_not_before{event_id="C7061BAC-…",event_type="Freeze",
        resource="WestNO_0"} 412.0

Choices (reference: shared azure-apis.md §3):

- ``event_id`` is kept as IMDS sends it (upper-case GUID): IMDS is its only producer, so case
  never varies, and the value is what an operator would paste into an approval request.
- The info's labels never change while the event lives; its status (which does) is the state set
  ``azure_scheduled_event_status`` and its free-text description (at most 128 characters) is once per
  event in ``azure_scheduled_event_description_info``, so ``group_left`` joins survive ``Started``.
- When ``node`` is configured, every family of this source carries a ``node`` label; when it is
  not, no family has one (``instance`` identifies the VM). The label set is fixed per process.
- Problems in the document (unknown type or status, unparseable NotBefore, missing fields) are
  reported when they first appear, not on every one-second poll, so
  ``azure_update_exporter_source_errors_total`` counts distinct bad inputs rather than polls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from exporter.core.registry import register
from exporter.core.source import SourceSpec
from exporter.sources.scheduled_events.fetch import fetch
from exporter.sources.scheduled_events.translate import translate, translate_live, translate_static

DEMO_NODE = "aks-nodepool1-0"


@dataclass(frozen=True, slots=True)
class Options:
    # Base URL of IMDS. Plain HTTP to the link-local address; proxies are always bypassed.
    endpoint: str = "http://169.254.169.254"
    # 2020-07-01 is the newest scheduled-events version (adds DurationInSeconds).
    api_version: str = "2020-07-01"
    # Value of a `node` label on every series (for example the Kubernetes node name through the
    # downward API). Unset: no `node` label at all.
    node: str | None = None
    # Connect timeout of every request, and read timeout once IMDS has answered once.
    request_timeout: float = field(default=5.0, metadata={"duration": True, "min": 0.1})
    # Read timeout until the first successful answer: the call that enables Scheduled Events
    # for the VM can take about two minutes (reference §3.1).
    first_request_timeout: float = field(default=150.0, metadata={"duration": True, "min": 0.1})


def check_options(options: Options) -> list[tuple[str, str]]:
    """IMDS is plain HTTP on a link-local address; anything but an http(s) URL with a host fails."""
    parts = urlsplit(options.endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [("endpoint", f"invalid value {options.endpoint!r}; allowed: an http:// URL such as "
                             "http://169.254.169.254 (the IMDS address)")]  # fmt: skip
    return []


SPEC = register(
    SourceSpec(
        name="scheduled_events",
        summary="VM Scheduled Events from the Instance Metadata Service (run on the VM/node)",
        fetch=fetch,
        translate=translate,
        # Only the time-relative family is encoded per scrape; the rest once per refresh.
        translate_static=translate_static,
        translate_live=translate_live,
        options_type=Options,
        # Only meaningful on an Azure VM (the chart's DaemonSet enables it); elsewhere it could
        # only fail, and keep /readyz unready.
        default_enabled=False,
        # Microsoft recommends polling once per second; IMDS allows 5 requests/s per VM, and
        # the scheduler backs off to 60 s while failing (429 included).
        default_interval=1.0,
        # Bounds a whole refresh, so it must cover the first call that enables the service
        # (~2 min, `first_request_timeout`). Later polls are bounded by `request_timeout`.
        default_timeout=160.0,
        timeout_may_exceed_interval=True,
        needs_azure=False,
        # The node's own events: run per node (DaemonSet), never split over shards.
        shardable=False,
        check_options=check_options,
        # The simulator's IMDS listener stands in for 169.254.169.254; the demo "runs" on a node.
        demo_config=lambda info: {"endpoint": info["imds_url"], "node": DEMO_NODE},
    )
)
