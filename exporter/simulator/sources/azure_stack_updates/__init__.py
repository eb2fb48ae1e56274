"""Simulator parts of the `azure_stack_updates` source: ``routes`` (Hub admin API, Azure Local
ARM and Resource Graph rows; its ``register`` is listed in ``exporter.simulator.sources``),
``scenario`` (the ``azure_stack`` scenario section), ``timeline`` (runs on the virtual clock),
``bodies`` (wire bodies)."""
