"""Serving the exporter's HTTP endpoints securely: the Prometheus exporter-toolkit web-config file.

`config` parses and validates the file (`--web.config.file`), `tls` builds server TLS contexts
and rebuilds them when the files change on disk, `guard` applies response headers, the rate
limit and basic auth to every path, `asgi` runs the WSGI app on a bounded worker pool under
Hypercorn.
"""
