"""Parts of the `azure_stack_updates` source (see `exporter.collectors.azure_stack_updates`).

`states` lists the enum values, `model` the snapshot types and the rules that bound them,
`parse` the pure payload parsers, `hub` and `local` the I/O for Azure Stack Hub stamps and Azure
Local clusters, `translate` the metric families, `pep` a parser for the privileged endpoint's
update status XML.
"""
