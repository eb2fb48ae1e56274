"""The short soak (scripts/soak.py --check): 30 s of random faults against the simulator in its
own process; the exporter's open fds and threads must stay flat after the warm-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_fds_and_threads_stay_flat_under_random_faults(tmp_path: Path) -> None:
    samples_file = tmp_path / "samples.json"
    result = subprocess.run(
        [sys.executable, "scripts/soak.py", "--duration", "30", "--sample-every", "1.5",
         "--fault-every", "1", "--check", "--json", str(samples_file)],
        capture_output=True, text=True, timeout=55, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    samples = json.loads(samples_file.read_text())
    assert len(samples) >= 15
    assert samples[-1]["refreshes"] > 20  # the sources really were refreshing all along
    assert samples[-1]["faults_added"] >= 10
    files = [s["fds"] - s["sockets"] for s in samples[len(samples) // 3 :]]
    assert max(files) - min(files) <= 3, files  # no descriptor but sockets comes and goes
