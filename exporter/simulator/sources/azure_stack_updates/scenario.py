"""The ``azure_stack`` scenario section: Hub stamps and Azure Local clusters whose update runs
walk through their steps on the virtual clock (used by ``routes.py``).

Everything is a pure function of virtual time, so ``sim.clock.advance(s)`` moves a run along
without any background thread. Times in the section are seconds relative to the simulator's
start (negative = before it)::

    azure_stack:
      hub:
        - region: redmond
          api_versions: ["2021-07-01", "2016-05-01"]   # a legacy stamp: ["2016-05-01"]
          current_version: 1.2406.1.23
          last_updated: -2592000
          step_offset: "-08:00"                       # step times carry a local offset (§1.6)
          outages: [{start: 240, seconds: 180, status: 503}]   # the admin API goes dark
          updates:
            - name: Microsoft1.2408.0.19              # version defaults to the digits of the name
              state: Ready                            # before any run (or for good, without runs)
              runs:
                - start: 60                           # seconds after the simulator started
                  seconds: 600                        # spread over the default steps by weight
                  fail_at: Restart Storage Hosts      # optional: that step ends in Error
      local:
        - subscription_id: 9e8d7c6b-…
          resource_group: rg-azlocal-ams01
          name: azl-ams01
          updates: [...]                               # as above

The update's state follows its latest started run (Installing, Installed, InstallationFailed);
the stamp's state and current version follow the runs too unless ``state`` is given.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from exporter.simulator.scenario import ScenarioError
from exporter.simulator.sources.azure_stack_updates.timeline import (
    DEFAULT_ERROR,
    HUB_API_VERSIONS,
    HUB_PHASES,
    LOCAL_PHASES,
    Leaf,
    Outage,
    RunSpec,
    Section,
    StampSpec,
    UpdateSpec,
)

DEFAULT_SECTION: dict[str, Any] = {
    "hub": [
        {
            "region": "redmond",
            "current_version": "1.2406.1.23",
            "current_oem_version": "2.3.2406.4",
            "updates": [
                {
                    "name": "Microsoft1.2406.1.23",
                    "runs": [{"start": -30 * 86400, "seconds": 12 * 3600}],
                }
            ],
        },
        {
            "region": "seattle",
            "api_versions": ["2016-05-01"],
            "current_version": "1.2311.3.59",
            "current_oem_version": "2.3.2311.2",
            "updates": [
                {"name": "Microsoft1.2311.3.59", "runs": [{"start": -60 * 86400, "seconds": 10 * 3600}]}
            ],
        },
    ],
    "local": [],
}


class _Loader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def section(self, raw: object) -> Section:
        if raw is None:
            raw = DEFAULT_SECTION
        if not isinstance(raw, Mapping):
            raise ScenarioError([f"azure_stack: expected a mapping, got {type(raw).__name__}"])
        self.keys("azure_stack", raw, {"hub", "local"})
        hub = tuple(
            self.stamp(f"azure_stack.hub[{i}]", s, "hub") for i, s in enumerate(self.items(raw, "hub"))
        )
        local = tuple(
            self.stamp(f"azure_stack.local[{i}]", s, "local") for i, s in enumerate(self.items(raw, "local"))
        )
        if self.problems:
            raise ScenarioError(self.problems)
        return Section(hub, local)

    def items(self, raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            self.problems.append(f"azure_stack.{key}: expected a list of mappings")
            return []
        return value

    def keys(self, where: str, raw: Mapping[str, Any], allowed: set[str]) -> None:
        self.problems.extend(
            f"{where}.{k}: unknown key; allowed: {sorted(allowed)}" for k in raw if k not in allowed
        )

    def offset(self, where: str, value: object) -> float | None:
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        self.problems.append(f"{where}: expected seconds relative to the simulator start, got {value!r}")
        return None

    def stamp(self, where: str, raw: Mapping[str, Any], platform: str) -> StampSpec:
        common = {
            "current_version", "current_oem_version", "last_updated", "state", "updates", "outages",
            "oem_family", "hardware_model",
        }  # fmt: skip
        if platform == "hub":
            allowed = common | {
                "region",
                "subscription_id",
                "api_versions",
                "audience",
                "login_endpoint",
                "step_offset",
            }
            required: tuple[str, ...] = ("region",)
        else:
            allowed = common | {"subscription_id", "resource_group", "name", "location"}
            required = ("subscription_id", "resource_group", "name")
        self.keys(where, raw, allowed)
        self.problems.extend(f"{where}.{k}: required" for k in required if not isinstance(raw.get(k), str))
        region = str(raw.get("region") or raw.get("location") or "westeurope")
        name = str(raw.get("name") or region)
        sub = str(
            raw.get("subscription_id") or uuid.uuid5(uuid.NAMESPACE_URL, f"azurestack:{region}")
        ).lower()
        versions = tuple(str(v) for v in raw.get("api_versions") or HUB_API_VERSIONS)
        default_audience = (
            f"https://adminmanagement.{region}.contoso.example/{uuid.uuid5(uuid.NAMESPACE_DNS, region)}"
        )
        updates = raw.get("updates") or []
        if not isinstance(updates, list):
            self.problems.append(f"{where}.updates: expected a list")
            updates = []
        outages = raw.get("outages") or []
        return StampSpec(
            platform=platform,
            region=region,
            subscription_id=sub,
            resource_group=f"System.{region}" if platform == "hub" else str(raw.get("resource_group")),
            name=name,
            api_versions=versions,
            audience=str(raw.get("audience") or default_audience).rstrip("/"),
            login_endpoint=raw.get("login_endpoint"),
            oem_family=str(raw.get("oem_family") or "DellEMC"),
            hardware_model=str(raw.get("hardware_model") or ("AX-760" if platform == "local" else "14G")),
            current_version=str(raw.get("current_version") or ""),
            current_oem_version=str(raw.get("current_oem_version") or ""),
            last_updated=self.offset(f"{where}.last_updated", raw.get("last_updated")),
            state=raw.get("state"),
            step_offset=self.tz(f"{where}.step_offset", raw.get("step_offset")),
            updates=tuple(
                self.update(f"{where}.updates[{i}]", u, platform, name) for i, u in enumerate(updates)
            ),
            outages=tuple(self.outage(f"{where}.outages[{i}]", o) for i, o in enumerate(outages)),
        )

    def tz(self, where: str, value: object) -> timedelta:
        if value in (None, "Z", "+00:00"):
            return timedelta(0)
        try:
            sign = -1 if str(value)[0] == "-" else 1
            hours, minutes = str(value)[1:].split(":")
            return sign * timedelta(hours=int(hours), minutes=int(minutes))
        except (ValueError, IndexError):
            self.problems.append(f"{where}: expected an offset like -08:00, got {value!r}")
            return timedelta(0)

    def outage(self, where: str, raw: object) -> Outage:
        if not isinstance(raw, Mapping):
            self.problems.append(f"{where}: expected a mapping")
            return Outage(0, 0, 503)
        self.keys(where, raw, {"start", "seconds", "status"})
        return Outage(
            self.offset(f"{where}.start", raw.get("start", 0)) or 0.0,
            self.offset(f"{where}.seconds", raw.get("seconds", 180)) or 0.0,
            int(raw.get("status", 503)),
        )

    def update(self, where: str, raw: object, platform: str, stamp: str) -> UpdateSpec:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            self.problems.append(f"{where}: expected a mapping with a name")
            return UpdateSpec("", "", "Ready", "", "", None, ())
        self.keys(where, raw, {"name", "version", "state", "package_type", "publisher", "installed", "runs"})
        name = str(raw["name"])
        digits = "".join(ch for ch in name if ch.isdigit() or ch == ".").strip(".")
        runs = raw.get("runs") or []
        return UpdateSpec(
            name=name,
            version=str(raw.get("version") or digits),
            state=str(raw.get("state") or "Ready"),
            package_type=str(
                raw.get("package_type") or ("Infrastructure" if platform == "hub" else "Solution")
            ),
            publisher=str(raw.get("publisher") or "Microsoft"),
            installed=self.offset(f"{where}.installed", raw.get("installed")),
            runs=tuple(
                self.run(f"{where}.runs[{i}]", r, platform, f"{stamp}/{name}/{i}") for i, r in enumerate(runs)
            ),
        )

    def run(self, where: str, raw: object, platform: str, seed: str) -> RunSpec:
        if not isinstance(raw, Mapping):
            self.problems.append(f"{where}: expected a mapping")
            raw = {}
        self.keys(where, raw, {"id", "start", "seconds", "fail_at", "error"})
        total = self.offset(f"{where}.seconds", raw.get("seconds", 3600)) or 3600.0
        phases = HUB_PHASES if platform == "hub" else LOCAL_PHASES
        weight = sum(w for _, _, leaves in phases for _, w in leaves)
        leaves = tuple(
            Leaf(phase, text, leaf, total * w / weight) for phase, text, items in phases for leaf, w in items
        )
        fail_at = raw.get("fail_at")
        if fail_at is not None and fail_at not in {leaf.name for leaf in leaves}:
            self.problems.append(
                f"{where}.fail_at: {fail_at!r} is not one of {[leaf.name for leaf in leaves]}"
            )
        return RunSpec(
            run_id=str(raw.get("id") or uuid.uuid5(uuid.NAMESPACE_URL, f"azurestack-run:{seed}")),
            start=self.offset(f"{where}.start", raw.get("start", 0)) or 0.0,
            leaves=leaves,
            fail_at=fail_at,
            error=str(raw.get("error") or DEFAULT_ERROR),
        )


def load_section(raw: object) -> Section:
    """Validate the ``azure_stack`` section (defaults when absent); ScenarioError lists every problem."""
    return _Loader().section(raw)
