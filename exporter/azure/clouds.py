"""Endpoints and token audiences per cloud (reference §7.4)."""

from __future__ import annotations

from dataclasses import dataclass

from exporter.config import AzureConfig


@dataclass(frozen=True, slots=True)
class CloudEndpoints:
    name: str
    arm_endpoint: str
    # The ARM token audience is not always the ARM host: US Gov uses management.core.usgovcloudapi.net.
    token_audience: str
    authority_host: str

    @property
    def arm_scope(self) -> str:
        return self.token_audience.rstrip("/") + "/.default"


KNOWN_CLOUDS: dict[str, CloudEndpoints] = {
    "public": CloudEndpoints(
        "public",
        "https://management.azure.com",
        "https://management.azure.com",
        "https://login.microsoftonline.com",
    ),
    "china": CloudEndpoints(
        "china",
        "https://management.chinacloudapi.cn",
        "https://management.chinacloudapi.cn",
        "https://login.chinacloudapi.cn",
    ),
    "usgov": CloudEndpoints(
        "usgov",
        "https://management.usgovcloudapi.net",
        "https://management.core.usgovcloudapi.net",
        "https://login.microsoftonline.us",
    ),
}


def resolve(cfg: AzureConfig) -> CloudEndpoints:
    """The cloud's endpoints, with any explicit setting taking precedence."""
    base = KNOWN_CLOUDS.get(cfg.cloud, KNOWN_CLOUDS["public"])
    return CloudEndpoints(
        name=cfg.cloud,
        arm_endpoint=(cfg.arm_endpoint or base.arm_endpoint).rstrip("/"),
        token_audience=(cfg.token_audience or base.token_audience).rstrip("/"),
        authority_host=(cfg.authority_host or base.authority_host).rstrip("/"),
    )
