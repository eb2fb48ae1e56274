"""Prometheus exporter for how an Azure estate is being updated."""

__version__ = "0.1.0"
