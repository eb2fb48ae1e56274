"""Importing this package registers every source in the target layout (one package per source)."""

from exporter.sources import update_manager as update_manager
