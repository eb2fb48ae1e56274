"""End-to-end harness: real Prometheus, Alertmanager and exporter processes on 127.0.0.1.

Pieces (the fixtures in ``conftest.py`` wire them together):

- :func:`require_binary` finds ``prometheus``, ``promtool``, ``alertmanager`` (Debian installs it as
  ``prometheus-alertmanager``) and ``amtool``, and *fails* the test when one is missing: CI must run
  these tests, not skip them.
- :class:`Prometheus` and :class:`Alertmanager` run the real binaries in a temp dir on a free loopback
  port, with 1s scrape/evaluation intervals and 1s Alertmanager grouping.
- :class:`WebhookSink` is the Alertmanager receiver: an in-process HTTP server recording every payload.
- :class:`ExporterProcess` runs ``python -m exporter demo|serve`` as a subprocess and waits for
  ``/readyz`` (``scheme``/``client``: over HTTPS with a CA, basic auth, a client certificate);
  :class:`SimulatorProcess` runs ``python -m exporter.simulator`` and drives its fault API.
- :func:`load_rules` copies ``alerts/*.yaml`` into the temp dir and can rewrite every ``for:`` to a
  short duration, the one knob the e2e tests turn for speed; expressions, labels and annotations are
  unchanged.

Every wait is bounded, and a failure raises :class:`HarnessError` whose message ends with the last log
lines of every process the harness is running (:func:`diagnostics`).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import requests
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ALERTS_DIR = REPO_ROOT / "alerts"
HOST = "127.0.0.1"
# The scrape job name. Rules select `job=~".*azure-update-exporter.*"` (the job-label contract).
JOB_NAME = "azure-update-exporter"
INSTALL_HINT = "apt-get install prometheus prometheus-alertmanager"

# Bounded waits: each wait has its own timeout, and inside `wait_budget()` (every e2e test, via an
# autouse fixture) all waits of one test together stop at TEST_BUDGET seconds.
START_TIMEOUT = 30.0
READY_TIMEOUT = 30.0
ALERT_TIMEOUT = 30.0
TEST_BUDGET = 60.0
POLL_INTERVAL = 0.2
STOP_TIMEOUT = 5.0
LOG_TAIL_LINES = 40

# Logical name -> executable names to look for on PATH (Debian's first).
BINARY_CANDIDATES: dict[str, tuple[str, ...]] = {
    "prometheus": ("prometheus",),
    "promtool": ("promtool",),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
    "amtool": ("amtool",),
}

T = TypeVar("T")


class HarnessError(AssertionError):
    """An e2e wait timed out or a process misbehaved; the message carries the process logs."""


# --------------------------------------------------------------------------- diagnostics

_live: list[ManagedProcess] = []
_live_lock = threading.Lock()


_budget_deadline: float | None = None


@contextlib.contextmanager
def wait_budget(seconds: float = TEST_BUDGET) -> Iterator[None]:
    """Cap the sum of all waits inside the block at ``seconds``."""
    global _budget_deadline
    _budget_deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _budget_deadline = None


def _deadline(timeout: float) -> tuple[float, str]:
    """Monotonic deadline for a wait of ``timeout`` seconds, cut short by the test budget."""
    deadline = time.monotonic() + timeout
    if _budget_deadline is not None and _budget_deadline < deadline:
        return _budget_deadline, f" (cut short: the test's {TEST_BUDGET:.0f}s wait budget ran out)"
    return deadline, ""


def _stop_all() -> None:
    with _live_lock:
        processes = list(_live)
    for process in reversed(processes):
        process.stop()


# If pytest itself dies between setup and teardown, do not leave servers behind.
atexit.register(_stop_all)


def diagnostics(lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` log lines of every process started and not yet stopped."""
    with _live_lock:
        processes = list(_live)
    return "\n".join(p.describe(lines) for p in processes)


def fail(message: str) -> HarnessError:
    """Build a HarnessError whose message ends with every live process's log tail."""
    logs = diagnostics()
    return HarnessError(f"{message}\n\n{logs}" if logs else message)


def wait_until(
    check: Callable[[], T | None],
    what: str,
    timeout: float = START_TIMEOUT,
    interval: float = POLL_INTERVAL,
    alive: Sequence[ManagedProcess] = (),
) -> T:
    """Poll ``check`` until it returns a truthy value; fail after ``timeout`` seconds.

    Connection errors and bad JSON count as "not yet". A process in ``alive`` that exits fails
    the wait at once instead of after the timeout.
    """
    deadline, note = _deadline(timeout)
    last_error = ""
    while True:
        for process in alive:
            process.check_running()
        try:
            result = check()
        except (requests.RequestException, OSError, ValueError, KeyError) as exc:
            result, last_error = None, f"{type(exc).__name__}: {exc}"
        if result:
            return result
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise fail(f"timed out after {timeout:.0f}s waiting for {what}{note}{detail}")
        time.sleep(interval)


# --------------------------------------------------------------------------- binaries and ports


def find_binary(name: str) -> str | None:
    for candidate in BINARY_CANDIDATES.get(name, (name,)):
        path = shutil.which(candidate)
        if path:
            return path
    return None


def require_binary(name: str) -> str:
    """Path of a Prometheus-project binary; a missing one fails the test (CI must not skip)."""
    path = find_binary(name)
    if path is None:
        import pytest

        names = " or ".join(BINARY_CANDIDATES.get(name, (name,)))
        pytest.fail(f"{names} not found on PATH; install it with: {INSTALL_HINT}", pytrace=False)
    return path


def binary_version(path: str) -> str:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10, check=False)
    return (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "unknown"


def one_source_config(info: Mapping[str, Any], address: str, source: str, **settings: Any) -> dict[str, Any]:
    """The simulator's exporter config with only `source` enabled (with `settings`) and no SDK
    retries, so a faulted request fails a refresh at once instead of after back-off."""
    from exporter.core.registry import all_specs
    from exporter.demo import simulator_config

    config = simulator_config(dict(info), address)
    config["azure"]["retry_total"] = 0
    config["sources"] = {name: {"enabled": False} for name in all_specs()}
    config["sources"][source] = {"enabled": True, **settings}
    return config


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (racy by nature; servers retry on EADDRINUSE)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- processes


class ManagedProcess:
    """A subprocess whose stdout and stderr go to a log file; stopped with terminate, then kill."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"$ {' '.join(self.argv)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(  # the argv is ours, no shell
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
            )
        with _live_lock:
            _live.append(self)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def check_running(self) -> None:
        code = self.returncode()
        if code is not None:
            raise fail(f"{self.name} exited early with code {code}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        with _live_lock:
            if self in _live:
                _live.remove(self)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def describe(self, lines: int = LOG_TAIL_LINES) -> str:
        code = self.returncode()
        state = "running" if code is None else f"exited with code {code}"
        header = f"----- {self.name} (pid {self.pid}, {state}), last {lines} log lines -----"
        return f"{header}\n{self.log_tail(lines)}"


def _address_in_use(process: ManagedProcess) -> bool:
    return "address already in use" in process.log_text().lower()


def start_server_process(
    name: str,
    make_argv: Callable[[int], Sequence[str]],
    ready_path: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = START_TIMEOUT,
    attempts: int = 3,
) -> tuple[ManagedProcess, int]:
    """Start a server on a free port and wait for ``GET ready_path`` to answer 200.

    Free ports are picked before the server binds them, so a lost race (EADDRINUSE) is retried on
    another port.
    """
    for attempt in range(1, attempts + 1):
        port = free_port()
        process = ManagedProcess(name, make_argv(port), log_path, env=env, cwd=cwd)
        process.start()
        url = f"http://{HOST}:{port}{ready_path}"
        try:
            wait_until(
                lambda url=url: requests.get(url, timeout=2).status_code == 200,
                f"{name} to answer 200 on {url}",
                timeout=timeout,
                alive=[process],
            )
        except HarnessError:
            lost_race = process.returncode() is not None and _address_in_use(process)
            process.stop()
            if lost_race and attempt < attempts:
                continue
            raise
        return process, port
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- webhook sink


class WebhookSink:
    """Alertmanager's receiver: records every POSTed JSON payload (thread-safe)."""

    def __init__(self) -> None:
        self._payloads: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> WebhookSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"_invalid_body": body.decode(errors="replace")}
                sink._record(payload)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-sink", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "WebhookSink not started"
        return f"http://{HOST}:{self._server.server_address[1]}/alerts"

    def _record(self, payload: dict[str, Any]) -> None:
        with self._cond:
            self._payloads.append(payload)
            self._cond.notify_all()

    @property
    def payloads(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._payloads)

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert of every payload, in arrival order (``status`` is per alert)."""
        return [alert for payload in self.payloads for alert in payload.get("alerts", [])]

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = ALERT_TIMEOUT
    ) -> dict[str, Any]:
        """The first payload (already received or arriving within ``timeout``) matching ``predicate``."""
        deadline, note = _deadline(timeout)
        with self._cond:
            while True:
                for payload in self._payloads:
                    if predicate(payload):
                        return payload
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 1.0))
            received = [_summarise(p) for p in self._payloads]
        raise fail(
            f"timed out after {timeout:.0f}s waiting for a webhook payload with {what}{note}; "
            f"received (alertname, status, source): {received}"
        )

    def wait_for_alert(
        self,
        alertname: str,
        status: str = "firing",
        labels: Mapping[str, str] | None = None,
        timeout: float = ALERT_TIMEOUT,
    ) -> dict[str, Any]:
        """The first alert named ``alertname`` with that status (and labels) in any payload."""
        wanted = {"alertname": alertname, **(labels or {})}

        def matching(payload: dict[str, Any]) -> dict[str, Any] | None:
            for alert in payload.get("alerts", []):
                alert_labels = alert.get("labels", {})
                if alert.get("status") == status and all(alert_labels.get(k) == v for k, v in wanted.items()):
                    return alert
            return None

        payload = self.wait_for(lambda p: matching(p) is not None, f"{status} alert {wanted}", timeout)
        alert = matching(payload)
        assert alert is not None
        return alert


def _summarise(payload: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (
            a.get("labels", {}).get("alertname", "?"),
            a.get("status", "?"),
            a.get("labels", {}).get("source", ""),
        )
        for a in payload.get("alerts", [])
    ]


# --------------------------------------------------------------------------- static metrics


class StaticMetricsServer:
    """A tiny in-process /metrics endpoint with one settable gauge, for harness self-tests."""

    def __init__(self, name: str = "harness_selftest_value", value: float = 1.0) -> None:
        self.name = name
        self.value = value
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> StaticMetricsServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = (
                    f"# HELP {outer.name} A gauge the harness self-test alerts on.\n"
                    f"# TYPE {outer.name} gauge\n{outer.name} {outer.value}\n"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="static-metrics", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def address(self) -> str:
        assert self._server is not None, "StaticMetricsServer not started"
        return f"{HOST}:{self._server.server_address[1]}"


# --------------------------------------------------------------------------- rules


def rule_files(directory: Path = ALERTS_DIR) -> list[Path]:
    """Prometheus rule files in ``directory``: ``*.yaml``/``*.yml`` except Alertmanager configs."""
    files = [*directory.glob("*.yaml"), *directory.glob("*.yml")]
    return sorted(p for p in files if not p.name.startswith("alertmanager") and ".test." not in p.name)


def load_rules(dest: Path, source_dir: Path = ALERTS_DIR, for_override: str | None = None) -> list[Path]:
    """Copy the rule files of ``source_dir`` into ``dest`` and return the copies.

    ``for_override`` (for example ``"2s"``) is the e2e speed knob: every alerting rule that has a
    ``for:`` gets this duration instead, so a 10m alert fires seconds after its condition holds.
    Expressions, labels and annotations are copied unchanged.
    """
    dest.mkdir(parents=True, exist_ok=True)
    copies = []
    for src in rule_files(source_dir):
        target = dest / src.name
        if for_override is None:
            shutil.copyfile(src, target)
        else:
            document = yaml.safe_load(src.read_text()) or {}
            for group in document.get("groups") or []:
                for rule in group.get("rules") or []:
                    if "alert" in rule and "for" in rule:
                        rule["for"] = for_override
            target.write_text(yaml.safe_dump(document, sort_keys=False, width=1000))
        copies.append(target)
    if not copies:
        raise fail(f"no rule files found in {source_dir}")
    return copies


# --------------------------------------------------------------------------- Prometheus


class Prometheus:
    """A real Prometheus scraping ``targets`` as job ``azure-update-exporter`` every second."""

    def __init__(
        self,
        workdir: Path,
        targets: Sequence[str],
        rule_files: Sequence[Path] = (),
        alertmanager: str | None = None,
        binary: str | None = None,
        interval: str = "1s",
        scrape_options: Mapping[str, Any] | None = None,
        extra_scrape_configs: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.workdir = workdir
        self.targets = list(targets)
        # Merged into the exporter job (scheme, tls_config, basic_auth, ...); extra jobs verbatim.
        self.scrape_options = dict(scrape_options or {})
        self.extra_scrape_configs = [dict(job) for job in extra_scrape_configs]
        self.rule_files = [Path(p) for p in rule_files]
        self.alertmanager = alertmanager
        self.binary = binary or require_binary("prometheus")
        self.interval = interval
        self.process: ManagedProcess | None = None
        self.port: int | None = None

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": self.interval,
                "scrape_timeout": self.interval,
                "evaluation_interval": self.interval,
            },
            "rule_files": [str(p) for p in self.rule_files],
            "scrape_configs": [
                {"job_name": JOB_NAME, "static_configs": [{"targets": self.targets}], **self.scrape_options},
                *self.extra_scrape_configs,
            ],
        }
        if self.alertmanager:
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [self.alertmanager]}]}]}
        return config

    def start(self) -> Prometheus:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        consoles = self.workdir / "consoles"
        consoles.mkdir(exist_ok=True)

        def argv(port: int) -> list[str]:
            return [
                self.binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address={HOST}:{port}",
                f"--web.console.templates={consoles}",
                f"--web.console.libraries={consoles}",
                # Firing alerts are re-sent every resend-delay; 1s bridges the few seconds before the
                # notifier has discovered Alertmanager.
                "--rules.alert.resend-delay=1s",
                "--log.level=info",
            ]

        self.process, self.port = start_server_process(
            "prometheus", argv, "/-/ready", self.workdir / "prometheus.log"
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def api(self, path: str, **params: str) -> Any:
        response = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=5)
        body = response.json()
        if body.get("status") != "success":
            raise fail(f"Prometheus API {path} {params} failed: {body}")
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query; the result vector (``[{"metric": {...}, "value": [ts, "v"]}, ...]``)."""
        data = self.api("query", query=promql)
        if data["resultType"] != "vector":
            raise fail(f"{promql!r} returned a {data['resultType']}, not a vector")
        return list(data["result"])

    def wait_for_query(
        self,
        promql: str,
        predicate: Callable[[list[dict[str, Any]]], bool] = bool,
        timeout: float = START_TIMEOUT,
    ) -> list[dict[str, Any]]:
        """Poll an instant query until ``predicate(result)`` holds (default: non-empty)."""
        last: list[list[dict[str, Any]]] = [[]]

        def check() -> list[dict[str, Any]] | None:
            last[0] = self.query(promql)
            return last[0] if predicate(last[0]) else None

        try:
            return wait_until(check, f"query {promql!r}", timeout, alive=self._alive())
        except HarnessError as exc:
            raise fail(f"{str(exc).splitlines()[0]}; last result {last[0]}") from None

    def wait_for_target_up(self, target: str | None = None, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        """Wait until the scrape target ``target`` (``host:port``; default any) has health "up"."""
        last: list[Any] = []

        def check() -> dict[str, Any] | None:
            active = self.api("targets", state="active")["activeTargets"]
            last[:] = [(t["labels"].get("instance"), t["health"], t.get("lastError", "")) for t in active]
            for t in active:
                ours = t["labels"].get("job") == JOB_NAME and target in (None, t["labels"].get("instance"))
                if ours and t["health"] == "up":
                    return dict(t)
            return None

        try:
            return wait_until(check, f"target {target or JOB_NAME} to be up", timeout, alive=self._alive())
        except HarnessError as exc:
            raise fail(f"{str(exc).splitlines()[0]}; targets (instance, health, lastError): {last}") from None

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.api("alerts")["alerts"])

    def wait_for_alert(
        self,
        alertname: str,
        state: str = "firing",
        labels: Mapping[str, str] | None = None,
        timeout: float = ALERT_TIMEOUT,
    ) -> dict[str, Any]:
        """Wait until Prometheus has alert ``alertname`` in ``state`` (``pending``/``firing``)."""
        wanted = {"alertname": alertname, **(labels or {})}
        seen: list[Any] = []

        def check() -> dict[str, Any] | None:
            current = self.alerts()
            seen[:] = [(a["labels"].get("alertname"), a["state"]) for a in current]
            for alert in current:
                if alert["state"] == state and all(alert["labels"].get(k) == v for k, v in wanted.items()):
                    return dict(alert)
            return None

        try:
            return wait_until(check, f"{state} alert {wanted} in Prometheus", timeout, alive=self._alive())
        except HarnessError as exc:
            raise fail(f"{str(exc).splitlines()[0]}; Prometheus alerts: {seen}") from None

    def _alive(self) -> list[ManagedProcess]:
        return [self.process] if self.process else []


# --------------------------------------------------------------------------- Alertmanager


class Alertmanager:
    """A real, non-clustered Alertmanager sending every group (firing and resolved) to a webhook."""

    def __init__(
        self,
        workdir: Path,
        webhook_url: str,
        binary: str | None = None,
        group_wait: str = "1s",
        group_interval: str = "1s",
        repeat_interval: str = "1h",
    ) -> None:
        self.workdir = workdir
        self.webhook_url = webhook_url
        self.binary = binary or require_binary("alertmanager")
        self.route = {
            "receiver": "webhook",
            # One group per alert, so each alert's firing and resolved notifications stand alone.
            "group_by": ["..."],
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        }
        self.process: ManagedProcess | None = None
        self.port: int | None = None

    def config(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "receivers": [
                {"name": "webhook", "webhook_configs": [{"url": self.webhook_url, "send_resolved": True}]}
            ],
        }

    def start(self) -> Alertmanager:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "alertmanager.yml"
        config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))

        def argv(port: int) -> list[str]:
            return [
                self.binary,
                f"--config.file={config_path}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address={HOST}:{port}",
                "--cluster.listen-address=",  # empty disables clustering (no gossip port)
                "--log.level=info",
            ]

        self.process, self.port = start_server_process(
            "alertmanager", argv, "/-/ready", self.workdir / "alertmanager.log"
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    @property
    def address(self) -> str:
        """``host:port`` as Prometheus' ``alerting`` config wants it."""
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def alerts(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.url}/api/v2/alerts", timeout=5).json())


# --------------------------------------------------------------------------- exporter and simulator


def python_env() -> dict[str, str]:
    """Environment for ``python -m exporter…`` children: this checkout first, no real Azure settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "MSI_", "IDENTITY_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ExporterProcess:
    """``python -m exporter <args>`` as a real subprocess, ready once ``GET /readyz`` answers 200.

    Use :meth:`demo` (exporter plus in-process simulator, a free port is chosen) or :meth:`serve`
    (a config dict written to YAML; it must carry the listen address, see ``simulator_config``).
    """

    def __init__(
        self,
        workdir: Path,
        args: Sequence[str],
        address: str,
        name: str = "exporter",
        scheme: str = "http",
        client: Mapping[str, Any] | None = None,
    ) -> None:
        self.workdir = workdir
        self.args = list(args)
        self.address = address
        self.name = name
        self.scheme = scheme
        # requests keyword arguments for talking to it (verify=CA file, auth, cert) under a web config.
        self.client = dict(client or {})
        self.process: ManagedProcess | None = None

    @classmethod
    def demo(cls, workdir: Path, extra_args: Sequence[str] = ()) -> ExporterProcess:
        address = f"{HOST}:{free_port()}"
        return cls(
            workdir, ["demo", "--web.listen-address", address, *extra_args], address, name="exporter-demo"
        )

    @classmethod
    def serve(
        cls,
        workdir: Path,
        config: Mapping[str, Any],
        address: str,
        extra_args: Sequence[str] = (),
        scheme: str = "http",
        client: Mapping[str, Any] | None = None,
    ) -> ExporterProcess:
        workdir.mkdir(parents=True, exist_ok=True)
        config_path = workdir / "exporter.yaml"
        config_path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
        args = ["serve", "--config.file", str(config_path), *extra_args]
        return cls(workdir, args, address, name="exporter-serve", scheme=scheme, client=client)

    @property
    def argv(self) -> list[str]:
        return [sys.executable, "-m", "exporter", *self.args]

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}"

    def start(self, timeout: float = READY_TIMEOUT) -> ExporterProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(
            self.name, self.argv, self.workdir / f"{self.name}.log", env=python_env(), cwd=REPO_ROOT
        )
        self.process.start()
        wait_until(
            lambda: requests.get(f"{self.url}/readyz", timeout=2, **self.client).status_code == 200,
            f"{self.name} to answer 200 on {self.url}/readyz",
            timeout=timeout,
            alive=[self.process],
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def metrics(self) -> str:
        """The classic text exposition (no OpenMetrics Accept header)."""
        response = requests.get(f"{self.url}/metrics", timeout=5, **self.client)
        response.raise_for_status()
        return response.text


class SimulatorProcess:
    """``python -m exporter.simulator --info-file PATH``; :attr:`info` is that JSON once written.

    ``info`` has ``base_url``, ``imds_url``, ``ca_path``, ``tenant_id``, ``client_id``,
    ``client_secret`` and ``subscriptions``. Faults go through the control API under
    ``{base_url}/_sim/faults`` (TLS verified against ``ca_path``).
    """

    def __init__(self, workdir: Path, extra_args: Sequence[str] = ()) -> None:
        self.workdir = workdir
        self.info_path = workdir / "simulator-info.json"
        self.extra_args = list(extra_args)
        self.process: ManagedProcess | None = None
        self.info: dict[str, Any] = {}

    def start(self, timeout: float = READY_TIMEOUT) -> SimulatorProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            "exporter.simulator",
            "--info-file",
            str(self.info_path),
            *self.extra_args,
        ]
        self.process = ManagedProcess(
            "simulator", argv, self.workdir / "simulator.log", env=python_env(), cwd=REPO_ROOT
        )
        self.process.start()

        def read_info() -> dict[str, Any] | None:
            if not self.info_path.exists():
                return None
            info = json.loads(self.info_path.read_text())  # partial writes raise ValueError: retry
            return info if isinstance(info, dict) and info.get("base_url") else None

        self.info = wait_until(
            read_info, f"simulator info file {self.info_path}", timeout, alive=[self.process]
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    @property
    def base_url(self) -> str:
        return str(self.info["base_url"]).rstrip("/")

    def _control(self, method: str, body: Mapping[str, Any] | None = None) -> requests.Response:
        response = requests.request(
            method, f"{self.base_url}/_sim/faults", json=body, verify=self.info["ca_path"], timeout=5
        )
        if response.status_code >= 300:
            raise fail(
                f"simulator {method} /_sim/faults {body} answered {response.status_code}: {response.text}"
            )
        return response

    def inject_fault(self, route: str, kind: str, **params: Any) -> None:
        """Add a fault rule, e.g. ``inject_fault("arm.*", "status", status=503)``."""
        self._control("POST", {"route": route, "kind": kind, **params})

    def clear_faults(self) -> None:
        self._control("DELETE")

    def advance_clock(self, seconds: float) -> None:
        """Move the scenario's virtual clock forward (``POST /_sim/clock``)."""
        response = requests.post(
            f"{self.base_url}/_sim/clock", json={"advance": seconds}, verify=self.info["ca_path"], timeout=5
        )
        if response.status_code != 200:
            raise fail(f"simulator POST /_sim/clock answered {response.status_code}: {response.text}")
