"""Azure simulator: an HTTPS server speaking the real Azure REST shapes.

The real azure-identity credentials and Azure SDK clients run against it over real sockets;
it also powers ``azure-update-exporter demo``.

Use::

    from exporter.simulator import start, FaultRule

    with start("demo") as sim:                      # None | "demo" | path.yaml | dict
        cred = sim.credential()  # a real ClientSecretCredential pointed at the simulator
        sim.faults.add(FaultRule("arm.*", "status", status=429, retry_after=2, count=1))
        sim.clock.advance(3600)                     # expires issued tokens
        sim.requests.count("resource_graph", status=200)

Two listeners: ``sim.base_url`` (HTTPS: Entra ID token endpoints, ARM, Resource Graph, Azure
Stack admin API, control API ``/_sim/*``) and ``sim.imds_url`` (plain HTTP, like
169.254.169.254). Clients trust ``sim.ca_path``; never disable verification. Standalone:
``python -m exporter.simulator --info-file info.json`` (see ``__main__``).

Extending it
------------
*A new source's REST routes*: create ``exporter/simulator/sources/<name>.py`` (``<name>`` is the
source's registered name; a package of that name when large) with
``def register(router: Router) -> None`` and add it to ``SOURCES`` in ``sources/__init__.py``.
The shared engine (server, router, faults, clock, scenario, tokens, ARM helpers, the Resource
Graph engine in ``routes/resource_graph.py``, the control API) stays outside ``sources/``::

    from exporter.simulator.arm_helpers import arm_route, paged, require_subscription
    from exporter.simulator.router import Router, SimRequest, SimResponse
    from exporter.simulator.state import ScenarioState

    def register(router: Router) -> None:
        router.add("GET", r"/subscriptions/(?P<subscription_id>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
                          r"/providers/Microsoft\\.Compute/virtualMachineScaleSets/(?P<vmss>[^/]+)"
                          r"/osUpgradeHistory", "arm.vmss.os_upgrade_history",
                   arm_route(history, min_api_version="2018-10-01",
                             provider_type="virtualMachineScaleSets"))

    def history(req: SimRequest, state: ScenarioState) -> SimResponse:
        require_subscription(req, state)
        rows = state.section("vmss").get(req.params["vmss"].lower(), [])
        return SimResponse(200, paged(rows, req, page_size=state.section("arm")["page_size"]))

- Paths are regexes matched in full and case-insensitively; named groups land in
  ``req.params``. ``listener="http"`` puts a route on the IMDS listener.
- ``arm_route`` checks the bearer token (401 AuthenticationFailed / InvalidAuthenticationToken /
  ExpiredAuthenticationToken with ``WWW-Authenticate``), the api-version (400) and the ARM read
  bucket (429 + ``x-ms-ratelimit-remaining-*``). Helpers raise ``SimError(response)`` to answer
  early; ``errors.arm_error`` builds the ARM envelope; ``paged`` gives absolute ``nextLink``s.
- Route names are dotted (``arm.vmss.os_upgrade_history``, ``imds.scheduledevents``,
  ``azurestack.updates``) so ``FaultRule(route="arm.*")`` globs work. If a "status" fault on
  your routes must not use the ARM envelope, call ``router.add_fault_body(glob, builder)``.
- Scenario data: any top-level section other than the known ones (identity, subscriptions,
  arm, resource_graph, faults, start_time, speed) is kept verbatim in ``state.sections``;
  validate it in your module. Mutable runtime data goes in ``state.store`` under ``state.lock``.
  Time comes from ``state.clock`` (virtual, timezone-aware UTC), never ``datetime.now()``.

*Resource Graph rows*: in your module's ``register(router)`` call
``resource_graph.register_provider("arc_machines", lambda q: "hybridcompute/machines" in q,
rows_fn)`` (``from exporter.simulator.routes import resource_graph``); ``q`` is the KQL
lowercased with whitespace collapsed, ``rows_fn(state, request_body)`` returns the projected
rows (with ``id``/``subscriptionId``). Registering a name again replaces it. Scenario
``resource_graph.datasets`` (``match`` substring + ``rows``, or ``error``) win over providers.
Paging, subscription scoping, quota and both result formats are handled for you.

Client notes: ``requests`` lets ``REQUESTS_CA_BUNDLE`` from the environment override
``Session.verify``; pass ``verify=`` per request or set ``session.trust_env = False``. MSAL
needs ``disable_instance_discovery=True`` or it asks login.microsoftonline.com about our host.

Route names so far: ``token.openid``, ``token.aad``, ``token.managed_identity``, ``token.imds``,
``arm.subscriptions``, ``resource_graph``, ``control`` (never faulted, not logged).
"""

from __future__ import annotations

from exporter.simulator.app import Simulator, start
from exporter.simulator.clock import SimClock
from exporter.simulator.faults import FaultInjector, FaultRule
from exporter.simulator.requestlog import LoggedRequest, RequestLog
from exporter.simulator.scenario import Scenario, ScenarioError, load_scenario
from exporter.simulator.state import ScenarioState

__all__ = [
    "FaultInjector",
    "FaultRule",
    "LoggedRequest",
    "RequestLog",
    "Scenario",
    "ScenarioError",
    "ScenarioState",
    "SimClock",
    "Simulator",
    "load_scenario",
    "start",
]
