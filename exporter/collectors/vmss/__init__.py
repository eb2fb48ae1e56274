"""Parts of the `vmss_os_upgrades` source (see `exporter.collectors.vmss_os_upgrades`).

`model` holds the enum values and the snapshot types, `parse` the pure payload parsers, `read`
the Azure calls (Resource Graph discovery and the two Compute calls per scale set), `merge`
the new snapshot from the calls' outcomes and the previous one, `translate` the metric families.
"""
