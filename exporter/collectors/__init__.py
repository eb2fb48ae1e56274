"""Importing this package registers every source (one module per source)."""

from exporter.collectors import scheduled_events as scheduled_events
from exporter.collectors import subscriptions

__all__ = ["subscriptions"]
