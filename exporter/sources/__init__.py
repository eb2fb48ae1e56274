"""The registry of sources: importing this package registers every source package below.

One package per source, each with the same parts (see docs/architecture.md, "The shape of a
source"). Add a new source's package to this list.
"""

from exporter.sources import arc_agents as arc_agents
from exporter.sources import azure_stack_updates as azure_stack_updates
from exporter.sources import scheduled_events as scheduled_events
from exporter.sources import subscriptions as subscriptions
from exporter.sources import update_manager as update_manager
from exporter.sources import vmss_os_upgrades as vmss_os_upgrades
