"""Importing this package registers every source in the target layout (one package per source)."""

from exporter.sources import arc_agents as arc_agents
