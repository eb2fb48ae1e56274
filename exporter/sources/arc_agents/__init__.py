"""Azure Arc Connected Machine agents: version currency against the one-year support window,
automatic upgrade health and connection state of every Arc-enabled server.

Replaces reading the agent release notes by hand. One paged Resource Graph query over
``microsoft.hybridcompute/machines`` (reference §5.3) and one small Advisor query per refresh;
nothing per machine, so a refresh costs Resource Graph pages only.

    azure_arc_machine_info{subscription_id="6f1c…",resource_group="rg-arc-onprem",machine="srv-sql-01",
        kind="",os_type="windows",os_sku="Windows Server 2022 Datacenter",location="westeurope"} 1
    azure_arc_agent_version_info{…,machine="srv-sql-01",agent_version="1.60",agent_build="1.60.03293.2680"} 1
    azure_arc_machine_status{…,machine="srv-sql-01",status="Connected"} 1
    azure_arc_agent_release_timestamp_seconds{…,machine="srv-sql-01"} 1.7672256e+09
    azure_arc_agent_support_end_timestamp_seconds{…,machine="srv-sql-01"} 1.7987616e+09
    azure_arc_agent_versions_behind{…,machine="srv-sql-01"} 7
    azure_arc_agent_supported{…,machine="srv-sql-01"} 1
    azure_arc_agent_upgrade_last_attempt_status{…,machine="srv-sql-01",status="Failed"} 1
    azure_arc_agents{subscription_id="6f1c…",agent_version="1.60",status="Connected"} 1
    azure_arc_agent_support_machines{subscription_id="6f1c…",state="unsupported"} 2
    azure_arc_agent_downgrades_total{subscription_id="6f1c…"} 0
    azure_arc_agent_newest_version_info{agent_version="1.67",source="table",table_version="1.67"} 1

Choices:

- Labels ``subscription_id``, ``resource_group`` and ``machine`` come from the lowercased ID.
  ``azure_arc_machine_info`` carries only labels that do not change over a machine's life, so it
  stays one series per machine; the agent version, which changes about monthly, has its own
  ``azure_arc_agent_version_info`` (an upgrade starts a new series there and nowhere else).
- Support is judged by major.minor against the release table (packaged, generated from the
  reference CSV, extended by ``release_table_file``): release = first day of the release month,
  end = release + 365 days. A version newer than the table is supported with an unknown release
  month; an unreadable version or one missing from the table is ``unknown`` (never age 0, never
  a silent "unsupported"). The newest known version is the highest of the table, the estate and
  the Advisor "upgrade the agent" recommendations (and the agentVersions API when enabled).
- Support states are evaluated at Resource Graph's own ``now()`` for the query, and every value
  is a timestamp or a state, so the exposition is encoded once per refresh (``uses_now=False``).
  Ages and days left are ``time() - …`` in PromQL.
- Downgrades are found by comparing each machine's version with the previous snapshot's.
- Odd input (unknown status, ``""``/``"1.x"``/null versions, booleans as strings, garbage dates)
  drops that field for that machine and is counted by field and value; never the refresh.
- ``per_machine_series: false`` keeps only the per-subscription aggregates for very large estates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exporter.core.registry import register
from exporter.core.source import SourceSpec
from exporter.sources.arc_agents.fetch import fetch
from exporter.sources.arc_agents.translate import translate


@dataclass(frozen=True, slots=True)
class Options:
    # CSV (version,release_month or release_date as YYYY-MM or YYYY-MM-DD) whose rows add to or
    # replace the packaged release table by major.minor; read at every refresh.
    release_table_file: str | None = None
    # False: only per-subscription aggregates (for 20,000+ machines), no per-machine series.
    per_machine_series: bool = True
    # "expiring" support state (and the aggregate count) when support ends within this.
    expiring_within: float = field(default=30 * 86400.0, metadata={"duration": True, "min": 0.0})
    # Advisor's "Upgrade to the latest version of the Azure Connected Machine agent" recommendations
    # as a source of the newest version (one small Resource Graph query).
    advisor_cross_check: bool = True
    # The tenant-level agentVersions API (2 ARM calls per refresh). Off by default: whether the
    # current stable api-versions still expose it is unconfirmed (reference §5.1).
    agent_versions_api: bool = False


SPEC = register(
    SourceSpec(
        name="arc_agents",
        summary="Azure Arc Connected Machine agents: version support window, automatic upgrade, status",
        fetch=fetch,
        translate=translate,
        options_type=Options,
        default_enabled=True,
        # Status changes 15-30 minutes after heartbeats stop and releases ship monthly: 5 minutes is
        # plenty, and costs 2 Resource Graph queries (a few pages each) per refresh.
        default_interval=300.0,
        # 20,000 machines are 20 pages of about 0.3 s each, plus Resource Graph quota waits.
        default_timeout=120.0,
        # Only timestamps and states judged at fetch time: encoded once per refresh.
        uses_now=False,
        demo_config=lambda info: {"interval": "15s", "timeout": "15s", "agent_versions_api": True},
    )
)
