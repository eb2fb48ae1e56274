"""Benchmark: scrape latency under concurrent scrapers, the old wsgiref server against the new one.

One exporter refresh against a large simulated estate, then the same app is served by
- `wsgiref`: the server used before (ThreadingMixIn + wsgiref, a thread per connection), kept
  here only to measure against;
- `hypercorn`: exporter.server.HttpServer, plain HTTP;
- `hypercorn+tls+auth`: the same with a web config (TLS, basic auth with a cost-10 bcrypt hash).
Scrapers run in a separate process (so their GIL is not the server's), each sending what
Prometheus sends (OpenMetrics Accept, gzip) on its own keep-alive connection.
Prints p50/p99/max per server; asserts nothing.

Usage: .venv/bin/python scripts/bench_http.py [--scrapers 20] [--scrapes 5] [--rounds 3]
       [--subscriptions 2000] [--scale-sets 2000]
"""

from __future__ import annotations

# ruff: noqa: T201 - a benchmark prints its figures
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bcrypt
import requests
import trustme
import yaml
from bench_scenarios import only, vmss_estate

from exporter.app import Exporter
from exporter.config import from_dict
from exporter.demo import simulator_config
from exporter.server import HttpServer, WsgiApp, make_app
from exporter.simulator import start

PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
PASSWORD = "bench-password"  # noqa: S105 - a throwaway password for a throwaway server


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class WsgirefServer:
    """The HTTP server before the Hypercorn one, exactly as it was configured."""

    def __init__(self, app: WsgiApp) -> None:
        self._server = make_server("127.0.0.1", 0, app, _ThreadingWSGIServer, handler_class=_QuietHandler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def scrapers(url: str, count: int, scrapes: int, verify: str | None, auth: tuple[str, str] | None) -> None:
    """Client side (own process): `count` threads, each `scrapes` sequential scrapes; JSON on stdout."""
    barrier = threading.Barrier(count)
    timings: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        with requests.Session() as session:
            session.headers.update({"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"})
            barrier.wait()
            for _ in range(scrapes):
                started = time.perf_counter()
                try:
                    response = session.get(url, timeout=60, verify=verify or True, auth=auth)
                    response.raise_for_status()
                    _ = response.content
                except requests.RequestException as exc:
                    with lock:
                        errors.append(type(exc).__name__)
                    continue
                with lock:
                    timings.append(time.perf_counter() - started)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"timings": timings, "errors": errors}))


def measure(
    url: str, args: argparse.Namespace, verify: str | None = None, auth: bool = False
) -> dict[str, Any]:
    argv = [
        sys.executable,
        __file__,
        "--client",
        url,
        "--scrapers",
        str(args.scrapers),
        "--scrapes",
        str(args.scrapes),
    ]
    if verify:
        argv += ["--verify", verify]
    if auth:
        argv += ["--auth"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=1800)  # noqa: S603 - our argv
    return dict(json.loads(out.stdout))


def report(label: str, result: dict[str, Any]) -> None:
    timings = sorted(result["timings"])
    if not timings:
        print(f"{label}: no successful scrape; errors {result['errors'][:5]}")
        return
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(
        f"{label:20s} scrapes {len(timings):4d} errors {len(result['errors']):3d}  "
        f"p50 {statistics.median(timings) * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  "
        f"max {timings[-1] * 1000:7.1f} ms"
    )


def tls_web_config(directory: Path) -> Path:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    leaf.cert_chain_pems[0].write_to_path(str(directory / "server.crt"))
    leaf.private_key_pem.write_to_path(str(directory / "server.key"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    document = {
        "tls_server_config": {"cert_file": "server.crt", "key_file": "server.key"},
        "basic_auth_users": {"prometheus": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()},
    }
    path = directory / "web-config.yml"
    path.write_text(yaml.safe_dump(document))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=2000)
    parser.add_argument("--scale-sets", type=int, default=2000)
    parser.add_argument("--scrapers", type=int, default=20)
    parser.add_argument("--scrapes", type=int, default=5, help="per scraper and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--verify", help=argparse.SUPPRESS)
    parser.add_argument("--auth", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        scrapers(
            args.client,
            args.scrapers,
            args.scrapes,
            args.verify,
            ("prometheus", PASSWORD) if args.auth else None,
        )
        return
    with start(vmss_estate(args.scale_sets, args.subscriptions, page_size=100)) as sim:
        vmss = {"concurrency": 16, "interval": "10m", "timeout": "10m"}
        raw = only(
            simulator_config(sim.info(), "127.0.0.1:0"), {"subscriptions": {}, "vmss_os_upgrades": vmss}
        )
        exporter = Exporter(from_dict(raw))
        if not all(exporter.refresh_all_once().values()):
            raise SystemExit("refresh failed")
    app = make_app(exporter.registry, exporter.states, exporter.renderer)
    encoder, content_type = _text_encoder()
    size = sum(len(chunk) for chunk in exporter.renderer.body(encoder, content_type, gzip=False))
    print(
        f"estate: {args.subscriptions} subscriptions, {args.scale_sets} scale sets; "
        f"exposition {size / 1024:.0f} KiB; "
        f"{args.scrapers} concurrent scrapers x {args.scrapes} scrapes x {args.rounds} rounds "
        "(OpenMetrics + gzip, keep-alive)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        before = WsgirefServer(app)
        after = HttpServer("127.0.0.1", 0, app)
        secure = HttpServer("127.0.0.1", 0, app, web_config_file=tls_web_config(Path(tmp)))
        after.start()
        secure.start()
        ca = str(Path(tmp) / "ca.pem")
        runs: dict[str, tuple[str, dict[str, Any]]] = {
            "before: wsgiref": (f"http://127.0.0.1:{before.port}/metrics", {}),
            "after: hypercorn": (f"http://127.0.0.1:{after.port}/metrics", {}),
            "after: +tls+auth": (f"https://127.0.0.1:{secure.port}/metrics", {"verify": ca, "auth": True}),
        }
        results: dict[str, dict[str, list[Any]]] = {label: {"timings": [], "errors": []} for label in runs}
        # Rounds alternate between the servers, so load from elsewhere on the machine hits all alike.
        for _ in range(args.rounds):
            for label, (url, options) in runs.items():
                result = measure(url, args, **options)
                results[label]["timings"] += result["timings"]
                results[label]["errors"] += result["errors"]
        for label, result in results.items():
            report(label, result)
        before.stop()
        after.stop()
        secure.stop()
    exporter.stop()


def _text_encoder() -> tuple[Any, str]:
    from prometheus_client.exposition import choose_encoder

    return choose_encoder(PROMETHEUS_ACCEPT)


if __name__ == "__main__":
    main()
