"""Subscriptions the exporter's identity can see: the scope every other ARM source covers.

A subscription that disappears from this list (access removed, subscription disabled) is the
first explanation for data that silently stops; hence a source of its own.

    azure_subscription_info{subscription_id="6f1c…",display_name="prod",tenant_id="72f9…"} 1
    azure_subscription_state{subscription_id="6f1c…",state="Enabled"} 1
    azure_subscription_state{subscription_id="6f1c…",state="Disabled"} 0
    azure_subscriptions{state="Enabled"} 2
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.core.registry import register
from exporter.core.source import SourceSpec
from exporter.sources.subscriptions.fetch import fetch
from exporter.sources.subscriptions.translate import translate


@dataclass(frozen=True, slots=True)
class Options:
    pass


SPEC = register(
    SourceSpec(
        name="subscriptions",
        summary="Subscriptions visible to the identity (ARM)",
        fetch=fetch,
        translate=translate,
        options_type=Options,
        default_enabled=True,
        default_interval=900.0,
        default_timeout=60.0,
        uses_now=False,
        demo_config=lambda info: {"interval": "30s", "timeout": "20s"},
    )
)
