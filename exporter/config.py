"""Configuration: YAML file, then `AUE_` environment overrides, then command-line flags.

The file maps onto frozen dataclasses. Unknown keys are errors. Every error names the
dotted key, the bad value and what is allowed; all errors are reported at once.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union
from urllib.parse import urlsplit

import yaml

from exporter.core.registry import all_specs
from exporter.core.source import AnySpec
from exporter.web.config import WebConfigError, load_web_config

ENV_PREFIX = "AUE_"
DEFAULT_PORT = 10061
CLOUDS = ("public", "china", "usgov", "custom")
CREDENTIAL_TYPES = (
    "default",
    "managed_identity",
    "workload_identity",
    "client_secret",
    "client_certificate",
)


def _choices(*values: str, default: str) -> Any:
    return field(default=default, metadata={"choices": values})


def _duration(default: float, minimum: float = 0.0) -> Any:
    return field(default=default, metadata={"duration": True, "min": minimum})


@dataclass(frozen=True)
class WebConfig:
    listen_address: str = f":{DEFAULT_PORT}"
    # The Prometheus exporter-toolkit web-config file (TLS, basic auth, headers); see docs/web-config.md.
    config_file: str | None = None


@dataclass(frozen=True)
class LogConfig:
    level: str = _choices("debug", "info", "warning", "error", default="info")
    format: str = _choices("logfmt", "json", default="logfmt")


@dataclass(frozen=True)
class CredentialConfig:
    type: str = _choices(*CREDENTIAL_TYPES, default="default")
    tenant_id: str | None = None
    client_id: str | None = None
    # Secrets come from files (or the standard AZURE_* variables), never from the config itself.
    client_secret_file: str | None = None
    client_certificate_file: str | None = None
    federated_token_file: str | None = None
    disable_instance_discovery: bool = False


@dataclass(frozen=True)
class AzureConfig:
    cloud: str = _choices(*CLOUDS, default="public")
    arm_endpoint: str | None = None
    token_audience: str | None = None
    authority_host: str | None = None
    ca_bundle: str | None = None
    credential: CredentialConfig = field(default_factory=CredentialConfig)
    subscriptions: tuple[str, ...] = ()
    retry_total: int = field(default=3, metadata={"min": 0})
    request_timeout: float = _duration(30.0, minimum=1.0)


@dataclass(frozen=True)
class ShardingConfig:
    # This replica's shard (a StatefulSet pod's ordinal) of `total_shards` replicas: each owns the
    # subscriptions and Azure Stack Hub stamps that rendezvous-hash to it (exporter/core/sharding.py).
    shard: int = field(default=0, metadata={"min": 0})
    total_shards: int = field(default=1, metadata={"min": 1})


@dataclass(frozen=True)
class SourceConfig:
    enabled: bool
    interval: float
    timeout: float
    options: Any


@dataclass(frozen=True)
class Config:
    web: WebConfig = field(default_factory=WebConfig)
    log: LogConfig = field(default_factory=LogConfig)
    azure: AzureConfig = field(default_factory=AzureConfig)
    sharding: ShardingConfig = field(default_factory=ShardingConfig)
    sources: Mapping[str, SourceConfig] = field(default_factory=dict)

    def enabled_sources(self) -> list[str]:
        return [name for name, src in self.sources.items() if src.enabled]


class ConfigError(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("not a duration")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return float(m.group(1)) * _UNIT[m.group(2)]
    raise ValueError("not a duration")


class _Builder:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, path: str, value: object, allowed: str) -> None:
        self.errors.append(f"{path}: invalid value {value!r}; allowed: {allowed}")

    def build(self, cls: type[Any], data: object, path: str) -> Any:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            self.fail(path or "<root>", data, "a mapping of keys")
            return cls()
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in data:
            if key not in fields:
                allowed = ", ".join(sorted(fields))
                self.errors.append(f"{_join(path, str(key))}: unknown key; allowed keys: {allowed}")
        kwargs: dict[str, Any] = {}
        for name, f in fields.items():
            if name in data:
                kwargs[name] = self.value(hints[name], f.metadata, data[name], _join(path, name))
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a required field without a default
            self.errors.append(f"{path or '<root>'}: {exc}")
            return None

    def value(self, hint: Any, meta: Mapping[str, Any], raw: object, path: str) -> Any:
        optional, hint = _unwrap_optional(hint)
        if raw is None and optional:
            return None
        if dataclasses.is_dataclass(hint):
            return self.build(typing.cast(type[Any], hint), raw, path)
        if meta.get("duration"):
            try:
                seconds = parse_duration(raw)
            except ValueError:
                self.fail(path, raw, "a duration such as 30s, 5m, 1h or a number of seconds")
                return 0.0
            return self.check_min(path, raw, seconds, meta)
        if hint is bool:
            if isinstance(raw, bool):
                return raw
            self.fail(path, raw, "true or false")
            return False
        if hint is int:
            if isinstance(raw, int) and not isinstance(raw, bool):
                return self.check_min(path, raw, raw, meta)
            self.fail(path, raw, "an integer")
            return 0
        if hint is float:
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                return self.check_min(path, raw, float(raw), meta)
            self.fail(path, raw, "a number")
            return 0.0
        if hint is str:
            if not isinstance(raw, str | int) or isinstance(raw, bool):
                self.fail(path, raw, "a string")
                return ""
            text = str(raw)
            choices = meta.get("choices")
            if choices and text not in choices:
                self.fail(path, raw, " | ".join(choices))
            return text
        if typing.get_origin(hint) is tuple:
            if isinstance(raw, str):
                raw = [part.strip() for part in raw.split(",") if part.strip()]
            if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
                self.fail(path, raw, "a list of strings")
                return ()
            return tuple(raw)
        raise TypeError(f"unsupported config type {hint!r} at {path}")

    def check_min(self, path: str, raw: object, value: Any, meta: Mapping[str, Any]) -> Any:
        minimum = meta.get("min")
        if minimum is not None and value < minimum:
            self.fail(path, raw, f">= {minimum}")
        return value


def _unwrap_optional(hint: Any) -> tuple[bool, Any]:
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return True, args[0]
    return False, hint


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _set_path(tree: dict[str, Any], dotted: list[str], value: object) -> None:
    node = tree
    for part in dotted[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[dotted[-1]] = value


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """`AUE_AZURE__CLOUD=usgov` → {"azure": {"cloud": "usgov"}}; values are YAML scalars."""
    tree: dict[str, Any] = {}
    for name, text in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        dotted = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if not dotted:
            continue
        try:
            value = yaml.safe_load(text) if text != "" else ""
        except yaml.YAMLError:
            value = text
        _set_path(tree, dotted, value)
    return tree


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def read_file(path: str | Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config file: {exc.strerror}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of keys"])
    return data


def load(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
) -> Config:
    """Build the effective configuration; raise ConfigError listing every problem.

    `base` replaces the built-in defaults it names (--collector.disable-defaults); the file, the
    environment and `overrides` win over it in that order.
    """
    raw: dict[str, Any] = merge(dict(base or {}), read_file(path) if path else {})
    env = os.environ if environ is None else environ
    raw = merge(raw, env_overrides(env))
    if overrides:
        raw = merge(raw, overrides)
    try:
        return from_dict(raw)
    except ConfigError as exc:
        variables = env_variables(env, overrides or {})
        raise ConfigError([name_variable(line, variables) for line in exc.errors]) from None


def env_variables(environ: Mapping[str, str], overrides: Mapping[str, Any]) -> dict[str, str]:
    """Dotted key -> the `AUE_` variable that set it (unless a flag overrode it)."""
    out: dict[str, str] = {}
    for name in environ:
        if not name.startswith(ENV_PREFIX):
            continue
        dotted = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        node: Any = overrides
        for part in dotted:
            node = node.get(part) if isinstance(node, Mapping) else None
        if dotted and node is None:
            out[".".join(dotted)] = name
    return out


def name_variable(line: str, variables: Mapping[str, str]) -> str:
    """The error line, naming the environment variable its key (or a parent of it) came from."""
    for dotted, name in sorted(variables.items(), key=lambda kv: -len(kv[0])):
        if line.startswith(dotted) and line[len(dotted) : len(dotted) + 1] in (":", ".", "["):
            return f"{line} (set by environment variable {name})"
    return line


def from_dict(raw: Mapping[str, Any]) -> Config:
    builder = _Builder()
    top_keys = {"web", "log", "azure", "sharding", "sources"}
    for key in raw:
        if key not in top_keys:
            builder.errors.append(f"{key}: unknown key; allowed keys: {', '.join(sorted(top_keys))}")
    web = builder.build(WebConfig, raw.get("web"), "web")
    log = builder.build(LogConfig, raw.get("log"), "log")
    azure = builder.build(AzureConfig, raw.get("azure"), "azure")
    sharding = builder.build(ShardingConfig, raw.get("sharding"), "sharding")
    sources = _build_sources(builder, raw.get("sources"))
    if web is not None:
        try:
            parse_listen_address(web.listen_address)
        except ValueError:
            builder.fail("web.listen_address", web.listen_address, "host:port, :port or [ipv6]:port")
        _check_web_config_file(builder, web.config_file)
    if azure is not None:
        _check_azure(builder, azure)
    if sharding is not None:
        _check_sharding(builder, sharding, sources)
    if builder.errors:
        raise ConfigError(builder.errors)
    return Config(web=web, log=log, azure=azure, sharding=sharding, sources=sources)


def _check_web_config_file(builder: _Builder, path: str | None) -> None:
    if not path:
        return
    try:
        load_web_config(path)
    except WebConfigError as exc:
        builder.errors.extend(f"web.config_file ({path}): {error}" for error in exc.errors)


def _build_sources(builder: _Builder, raw: object) -> dict[str, SourceConfig]:
    specs = all_specs()
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        builder.fail("sources", raw, "a mapping of source name to settings")
        raw = {}
    for name in raw:
        if name not in specs:
            builder.errors.append(f"sources.{name}: unknown source; known sources: {', '.join(specs)}")
    result: dict[str, SourceConfig] = {}
    for name, spec in specs.items():
        path = f"sources.{name}"
        section = raw.get(name) or {}
        if not isinstance(section, Mapping):
            builder.fail(path, section, "a mapping with enabled, interval, timeout and source options")
            section = {}
        common = {"enabled", "interval", "timeout"}
        enabled = spec.default_enabled
        if "enabled" in section:
            enabled = builder.value(bool, {}, section["enabled"], f"{path}.enabled")
        interval = spec.default_interval
        if "interval" in section:
            interval = builder.value(
                float, {"duration": True, "min": 0.1}, section["interval"], f"{path}.interval"
            )
        timeout = spec.default_timeout
        if "timeout" in section:
            timeout = builder.value(
                float, {"duration": True, "min": 0.1}, section["timeout"], f"{path}.timeout"
            )
        options = builder.build(
            spec.options_type, {k: v for k, v in section.items() if k not in common}, path
        )
        if enabled:
            _check_source(builder, spec, path, interval, timeout, options)
        result[name] = SourceConfig(enabled=enabled, interval=interval, timeout=timeout, options=options)
    return result


def _check_sharding(builder: _Builder, sharding: ShardingConfig, sources: Mapping[str, SourceConfig]) -> None:
    if sharding.shard >= sharding.total_shards:
        builder.fail("sharding.shard", sharding.shard, f"0 to total_shards - 1 ({sharding.total_shards - 1})")
    if sharding.total_shards > 1:
        specs = all_specs()
        for name, source in sources.items():
            if source.enabled and not specs[name].shardable:
                builder.errors.append(
                    f"sources.{name}: reads the machine it runs on, so every shard would expose the "
                    "same series; enable it in a per-node deployment with total_shards 1"
                )


def _check_source(
    builder: _Builder, spec: AnySpec, path: str, interval: float, timeout: float, options: Any
) -> None:
    if timeout > interval and not spec.timeout_may_exceed_interval:
        builder.errors.append(
            f"{path}.timeout: {timeout:g}s is longer than {path}.interval ({interval:g}s); "
            "allowed: at most the interval (a refresh never overlaps the next one)"
        )
    if options is not None and spec.check_options is not None:
        for key, problem in spec.check_options(options):
            builder.errors.append(f"{path}.{key}: {problem}")


GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_guid(value: str) -> bool:
    return bool(GUID.match(value))


def adfs_root(authority_host: str | None) -> str | None:
    """The AD FS root for azure-identity when `authority_host` is an AD FS address as Azure
    Stack Hub's /metadata/endpoints reports it (`https://adfs.<fqdn>/adfs`); else None.

    azure-identity (through MSAL) appends the tenant to the authority, and for AD FS the tenant
    is `adfs`: given `…/adfs` it would ask `…/adfs/adfs`, which does not exist."""
    if not authority_host:
        return None
    parts = urlsplit(authority_host.strip())
    if parts.path.rstrip("/").lower() != "/adfs":
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _check_azure(builder: _Builder, azure: AzureConfig) -> None:
    if azure.cloud == "custom":
        for key in ("arm_endpoint", "token_audience"):
            if not getattr(azure, key):
                builder.errors.append(f"azure.{key}: required when azure.cloud is 'custom'")
    for key in ("arm_endpoint", "authority_host"):
        value = getattr(azure, key)
        if value and not str(value).startswith("https://"):
            builder.fail(f"azure.{key}", value, "an https:// URL (Azure refuses bearer tokens over http)")
    _check_authority(builder, azure)
    for index, sub in enumerate(azure.subscriptions):
        if not is_guid(sub.strip()):
            builder.fail(f"azure.subscriptions[{index}]", sub, "a subscription ID (a GUID such as "
                         "00000000-0000-0000-0000-000000000000), not a name")  # fmt: skip
    for key in ("ca_bundle",):
        value = getattr(azure, key)
        if value and not Path(value).is_file():
            builder.fail(f"azure.{key}", value, "the path of an existing PEM file")
    cred = azure.credential
    adfs = adfs_root(azure.authority_host) is not None
    needs = {
        "client_secret": ("tenant_id", "client_id", "client_secret_file"),
        "client_certificate": ("tenant_id", "client_id", "client_certificate_file"),
    }
    for key in needs.get(cred.type, ()):
        if key == "tenant_id" and adfs:
            continue  # AD FS: the tenant is "adfs"
        if not getattr(cred, key):
            builder.errors.append(
                f"azure.credential.{key}: required when azure.credential.type is '{cred.type}'"
            )
    for key in ("client_secret_file", "client_certificate_file", "federated_token_file"):
        value = getattr(cred, key)
        if value and not Path(value).is_file():
            builder.fail(f"azure.credential.{key}", value, "the path of an existing file")


def _check_authority(builder: _Builder, azure: AzureConfig) -> None:
    value = azure.authority_host
    if not value or not value.startswith("https://"):
        return
    path = urlsplit(value).path.rstrip("/")
    if adfs_root(value) is not None:
        tenant = azure.credential.tenant_id
        if tenant and tenant.lower() != "adfs":
            builder.fail(
                "azure.credential.tenant_id", tenant,
                "'adfs' (or unset) with an AD FS azure.authority_host ending in /adfs",
            )  # fmt: skip
    elif path:
        builder.fail(
            "azure.authority_host", value,
            "the authority's root URL without a path (https://login.microsoftonline.com), or for "
            "AD FS the stamp's loginEndpoint (https://adfs.<fqdn>/adfs)",
        )  # fmt: skip


def parse_listen_address(address: str) -> tuple[str, int]:
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(address)
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(address)
    host = host.strip("[]") or "0.0.0.0"
    return host, port
