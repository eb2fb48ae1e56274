"""``python -m exporter.simulator``: run the simulator until SIGTERM/SIGINT.

Once listening it writes the ``/_sim/info`` JSON to ``--info-file`` (atomically) and as one
line to stdout, so harnesses in other processes can find the URLs and the CA bundle.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from exporter.simulator.app import start
from exporter.simulator.scenario import ScenarioError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exporter.simulator", description=__doc__)
    parser.add_argument("--scenario", help="scenario YAML file or packaged name (default: built-in defaults)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--https-port", type=int, default=0)
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--info-file", type=Path, help="write the info JSON here once listening")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")

    try:
        sim = start(args.scenario, host=args.host, https_port=args.https_port, http_port=args.http_port)
    except ScenarioError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with sim:
        info = json.dumps(sim.info())
        if args.info_file:
            tmp = args.info_file.with_name(args.info_file.name + ".tmp")
            tmp.write_text(info + "\n", encoding="utf-8")
            tmp.replace(args.info_file)
        sys.stdout.write(info + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
        if args.info_file:  # its URLs and CA die with us; do not leave a stale file behind
            args.info_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
