"""Importing this package registers every source (one module per source)."""

from exporter.collectors import azure_stack_updates as azure_stack_updates
from exporter.collectors import scheduled_events as scheduled_events
from exporter.collectors import subscriptions
from exporter.collectors import vmss_os_upgrades as vmss_os_upgrades
from exporter.sources import update_manager as update_manager

__all__ = ["subscriptions"]
