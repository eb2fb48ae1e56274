"""Soak: the exporter against the simulator (in its own process) under random faults, printing
RSS, open file descriptors and threads of the exporter process over time.

Every source of the demo runs on a short interval; a scraper reads /metrics twice a second;
every few seconds a random fault (401/403/404/429 with Retry-After up to 1200 s, 5xx, reset,
stall, malformed or empty body, latency) is put on a random route, or the faults are cleared,
or the simulator's clock jumps past the token lifetime.

    .venv/bin/python scripts/soak.py --duration 600            # the benchmark
    .venv/bin/python scripts/soak.py --duration 30 --check     # the CI variant (tests/test_soak.py)

With --check it exits 1 unless fds and threads stay flat after the warm-up (the first third):
at most --fd-slack files (fds other than sockets), --socket-slack sockets (pooled connections
come and go) and --thread-slack threads above the warm-up maximum.
"""

from __future__ import annotations

# ruff: noqa: T201 - a benchmark prints its figures
import argparse
import contextlib
import json
import random
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exporter import log  # noqa: E402
from exporter.app import Exporter  # noqa: E402
from exporter.config import from_dict  # noqa: E402
from exporter.demo import simulator_config  # noqa: E402

ROUTES = ("arm.*", "arm.subscriptions", "arm.vmss.*", "resource_graph", "azurestack.*", "imds.*", "token.*")


@dataclass
class Sample:
    seconds: float
    rss_mib: float
    fds: int
    sockets: int  # of fds: pooled HTTPS connections are bounded by the pools, a leak is not
    threads: int
    refreshes: int
    faults_added: int


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_fds() -> tuple[int, int]:
    """(all open file descriptors, of which sockets)."""
    total = sockets = 0
    for fd in Path("/proc/self/fd").iterdir():
        total += 1
        with contextlib.suppress(OSError):  # closed meanwhile
            sockets += fd.readlink().name.startswith("socket:")
    return total, sockets


def random_fault(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["status", "status", "status", "reset", "timeout", "malformed", "empty", "latency"])
    rule: dict[str, Any] = {"route": rng.choice(ROUTES), "kind": kind, "count": rng.randint(1, 20)}
    if kind == "status":
        rule["status"] = rng.choice([401, 403, 404, 429, 500, 503])
        if rule["status"] == 429:
            rule["retry_after"] = rng.choice([0, 1, 120, 1200])
    elif kind in ("timeout", "latency"):
        rule["seconds"] = round(rng.uniform(0.5, 4.0), 2)
    return rule


class Simulator:
    """`python -m exporter.simulator` in a child process, driven through its control API."""

    def __init__(self, workdir: Path) -> None:
        info_file = workdir / "info.json"
        self._proc = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "exporter.simulator", "--scenario", "demo", "--info-file", str(info_file)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not info_file.exists():
            if time.monotonic() > deadline or self._proc.poll() is not None:
                raise RuntimeError("simulator did not start")
            time.sleep(0.1)
        self.info: dict[str, Any] = json.loads(info_file.read_text())
        self._tls = ssl.create_default_context(cafile=self.info["ca_path"])

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the simulator's https URL
            f"{self.info['base_url']}/_sim/{path}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10, context=self._tls):  # noqa: S310
            pass

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def exporter_config(info: dict[str, Any]) -> dict[str, Any]:
    raw = simulator_config(info, "127.0.0.1:0")
    short = {"interval": "2s", "timeout": "2s"}
    for name in ("subscriptions", "vmss_os_upgrades", "azure_stack_updates"):
        raw["sources"][name] = {**raw["sources"].get(name, {}), "enabled": True, **short}
    raw["sources"]["scheduled_events"] = {**raw["sources"].get("scheduled_events", {}), "enabled": True}
    raw["azure"]["retry_total"] = 1
    raw["azure"]["request_timeout"] = "2s"
    return raw


def scrape_forever(port: int, stop: threading.Event) -> None:
    url = f"http://127.0.0.1:{port}/metrics"
    while not stop.wait(0.5):
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                response.read()
        except OSError as exc:
            print(f"scrape failed: {exc}", file=sys.stderr)


def soak(duration: float, seed: int, sample_every: float, fault_every: float) -> list[Sample]:
    rng = random.Random(seed)  # noqa: S311 - fault choice, not security
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(Path(tmp))
        stop = threading.Event()
        exporter: Exporter | None = None
        try:
            exporter = Exporter(from_dict(exporter_config(sim.info)))
            exporter.start()
            assert exporter.port is not None
            scraper = threading.Thread(target=scrape_forever, args=(exporter.port, stop), daemon=True)
            scraper.start()
            started = time.monotonic()
            next_sample, next_fault, added = started, started + fault_every, 0
            while (now := time.monotonic()) < started + duration:
                if now >= next_fault:
                    action = rng.random()
                    if action < 0.15:
                        sim.control("DELETE", "faults")
                    elif action < 0.25:
                        sim.control("POST", "clock", {"advance": 7200})  # tokens expire
                    else:
                        sim.control("POST", "faults", random_fault(rng))
                        added += 1
                    next_fault = now + fault_every
                if now >= next_sample:
                    refreshes = sum(s.view().refreshes for s in exporter.states)
                    fds, sockets = open_fds()
                    sample = Sample(round(now - started, 1), round(rss_mib(), 1), fds, sockets,
                                    threading.active_count(), refreshes, added)  # fmt: skip
                    samples.append(sample)
                    print(" ".join(f"{k}={v}" for k, v in asdict(sample).items()), flush=True)
                    next_sample = now + sample_every
                time.sleep(0.05)
        finally:
            stop.set()
            if exporter is not None:
                exporter.stop()
            sim.stop()
    return samples


def flat(samples: list[Sample], fd_slack: int, socket_slack: int, thread_slack: int) -> list[str]:
    """Problems with the samples after the warm-up (the first third of the run).

    Files (every fd but sockets) must stay flat: libuuid's leak was one clock file per thread.
    Sockets move with the connection pools (more connections open while calls are slow, all of
    them closed when a 401 drops the clients), so they get a wider bound that a leak still
    exceeds within a minute."""
    if len(samples) < 6:
        return [f"only {len(samples)} samples"]
    warm, rest = samples[: len(samples) // 3], samples[len(samples) // 3 :]
    problems = []
    checks = (
        ("files", lambda s: s.fds - s.sockets, fd_slack),
        ("sockets", lambda s: s.sockets, socket_slack),
        ("threads", lambda s: s.threads, thread_slack),
    )
    for name, value, slack in checks:
        warm_max, later_max = max(value(s) for s in warm), max(value(s) for s in rest)
        if later_max > warm_max + slack:
            problems.append(f"{name} grew: warm-up max {warm_max}, later {later_max} (slack {slack})")
    if rest[-1].refreshes <= warm[-1].refreshes:
        problems.append("no refresh ran after the warm-up")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=600.0, help="seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample-every", type=float, default=5.0)
    parser.add_argument("--fault-every", type=float, default=3.0)
    parser.add_argument("--check", action="store_true", help="exit 1 unless fds and threads stay flat")
    parser.add_argument("--fd-slack", type=int, default=3, help="files (fds but sockets) above the warm-up")
    parser.add_argument("--socket-slack", type=int, default=16)
    parser.add_argument("--thread-slack", type=int, default=4)
    parser.add_argument("--json", type=Path, help="write the samples here")
    args = parser.parse_args()
    log.setup("error")  # the faults make every source log; the figures are what matters here
    samples = soak(args.duration, args.seed, args.sample_every, args.fault_every)
    if args.json:
        args.json.write_text(json.dumps([asdict(s) for s in samples]))
    first, last = samples[0], samples[-1]
    print(
        f"summary rss_mib={first.rss_mib}->{last.rss_mib} fds={first.fds}->{last.fds} "
        f"sockets={first.sockets}->{last.sockets} "
        f"threads={first.threads}->{last.threads} refreshes={last.refreshes} faults={last.faults_added}"
    )
    if args.check:
        problems = flat(samples, args.fd_slack, args.socket_slack, args.thread_slack)
        for problem in problems:
            print(f"NOT FLAT: {problem}", file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
