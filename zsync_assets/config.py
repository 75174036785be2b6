"""zsync's behaviour settings: one YAML file, validated at load, overridable by environment.

Where: `zsync.yaml` at the repo root (the committed default documents every key); the
`ZSYNC_CONFIG` environment variable points at another file. Any top-level key can be
overridden by `ZSYNC_<KEY>` (e.g. `ZSYNC_CUSTOMER_MASTER=netsuite`, `ZSYNC_CUTOVER_DATE=2024-01-01`);
mappings and lists take YAML/JSON text (`ZSYNC_BATCH_SIZES='{netsuite_upsert_list: 50}'`).

Layers, each replacing whole top-level keys of the one before: the built-in defaults, then
(only while the embedded sandboxes are in use, i.e. no ZUORA_* / NETSUITE_* credential is set)
the sandbox pair's settings `sandbox/zsync.sandbox.yaml` (e.g. its tax-code mapping), then the
config file, then (sandboxes only) the demo's settings that `zsync demo` keeps with the sandbox
data (`data/sandbox/zsync.demo.yaml`: the NetSuite-born payments it turns on, and whether the
tenant runs Invoice Settlement), then `ZSYNC_<KEY>` variables. Every process reads the same
layers, so `zsync demo`, `zsync plan`, the Dagster UI and the tests agree; `zsync config` shows
where each value comes from.

Bad values fail at load with a message naming the key, e.g.
`customer_master: must be 'zuora' or 'netsuite', got 'sap'`. Credentials are NOT here: they
are `ZUORA_*` / `NETSUITE_*` environment variables read by the client resources.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

# The schema lives in config_schema.py; its names stay importable from here.
from zsync_assets.config_schema import CHARGE_TYPES as CHARGE_TYPES
from zsync_assets.config_schema import Config as Config
from zsync_assets.config_schema import FieldOverrides as FieldOverrides

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_PATH = REPO_ROOT / "zsync.yaml"
# What an operator would write in zsync.yaml for the seeded sandbox tenants (they are fixed by
# the seed): used under the config file while no real-tenant credential is set.
SANDBOX_CONFIG_PATH = Path(__file__).resolve().parent / "sandbox" / "zsync.sandbox.yaml"
ENV_PREFIX = "ZSYNC_"
# Where the sandboxes keep their state (`zsync sandbox --data-dir`, relative to the working
# directory like ZSYNC_DB); the demo's settings file lives there, so it goes with that tenant.
SANDBOX_DATA_VARIABLE = "ZSYNC_SANDBOX_DATA"
DEMO_SETTINGS_FILE = "zsync.demo.yaml"
# Any of these set means a real tenant (the client resources then use them, not the sandboxes).
REAL_TENANT_VARIABLES = (
    "ZUORA_BASE_URL",
    "ZUORA_CLIENT_ID",
    "ZUORA_CLIENT_SECRET",
    "NETSUITE_ACCOUNT_ID",
    "NETSUITE_CONSUMER_KEY",
    "NETSUITE_TOKEN_ID",
)


class ConfigError(ValueError):
    """The config file or an override is invalid; the message names the key."""


def _describe(error: ErrorDetails) -> str:
    key = ".".join(str(p) for p in error["loc"]) or "(top level)"
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "literal_error":
        allowed = ctx.get("expected", "").replace(" or ", " or ")
        return f"{key}: must be {allowed}, got {value!r}"
    if kind == "extra_forbidden":
        return f"{key}: unknown key (a typo? see the documented keys in zsync.yaml)"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{key}: {message}, got {value!r}" if kind != "value_error" else f"{key}: {message}"


def parse_config(raw: dict[str, Any], *, source: str = "config") -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(e) for e in exc.errors()]
        raise ConfigError(f"invalid zsync config ({source}): " + "; ".join(lines)) from None


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name in Config.model_fields:
        text = environ.get(ENV_PREFIX + name.upper())
        if text is not None:
            # YAML parsing gives bools/ints/dates/mappings from env text for free.
            try:
                overrides[name] = yaml.safe_load(text) if text.strip() else None
            except yaml.YAMLError as exc:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()}: not valid YAML ({_yaml_problem(exc)})") from None
    return overrides


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + str(getattr(exc, "problem", None) or exc).strip()


def config_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("ZSYNC_CONFIG") or DEFAULT_CONFIG_PATH)


def uses_sandboxes(environ: Mapping[str, str] | None = None) -> bool:
    """True when no real-tenant credential is set: the clients talk to the embedded sandboxes."""
    env = os.environ if environ is None else environ
    return not any(env.get(name) for name in REAL_TENANT_VARIABLES)


def talks_to_sandboxes(environ: Mapping[str, str] | None = None) -> bool:
    """True with no credential, and with the sandboxes' own public Zuora credentials, which point
    zsync at sandboxes on other ports (`make ui`, the deployment test: cli/sandboxes.py
    `client_env`). Either way the sandbox pair's settings apply."""
    env = os.environ if environ is None else environ
    if uses_sandboxes(env):
        return True
    from zsync_assets.sandbox import defaults

    public = {"ZUORA_CLIENT_ID": defaults.ZUORA_CLIENT_ID, "ZUORA_CLIENT_SECRET": defaults.ZUORA_CLIENT_SECRET}
    netsuite = ("NETSUITE_ACCOUNT_ID", "NETSUITE_CONSUMER_KEY", "NETSUITE_TOKEN_ID")
    return all(env.get(name) == value for name, value in public.items()) and not any(env.get(n) for n in netsuite)


def demo_settings_path(environ: Mapping[str, str] | None = None) -> Path:
    """The demo's settings file beside the sandbox data (see the module doc)."""
    from zsync_assets.sandbox import defaults

    env = os.environ if environ is None else environ
    return Path(env.get(SANDBOX_DATA_VARIABLE) or defaults.DEFAULT_DATA_DIR) / DEMO_SETTINGS_FILE


def write_demo_settings(settlement: bool | None, environ: Mapping[str, str] | None = None) -> Path:
    """Record what `zsync demo` turns on for the sandbox tenant, for every later command.

    `settlement`: the Invoice Settlement variant (True), the plain one (False), or whatever the
    file says already (None: `make ui`, which keeps the last demo's choice)."""
    from zsync_assets.sandbox import defaults

    path = demo_settings_path(environ)
    if settlement is None:
        settlement = bool(path.exists() and _read_yaml(path).get("invoice_settlement"))
    settings = {**defaults.DEMO_SETTINGS, **(defaults.DEMO_SETTLEMENT_SETTINGS if settlement else {})}
    text = (
        "# Written by `zsync demo`: what it turns on for this sandbox tenant. zsync reads it above\n"
        "# zsync.yaml while it talks to the sandboxes; `zsync demo [--settlement]` rewrites it.\n"
        + yaml.safe_dump(settings, sort_keys=False)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


@dataclass(frozen=True)
class ConfigLayer:
    source: str  # "sandbox settings (<path>)", "<config file path>", "demo settings (<path>)", "ZSYNC_<KEY>"
    values: dict[str, Any]


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid zsync config ({file}): not valid YAML, {_yaml_problem(exc)}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"invalid zsync config ({file}): the file must be a mapping of keys")
    return loaded


def config_layers(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> list[ConfigLayer]:
    """The layers above the built-in defaults, lowest first (see the module doc)."""
    env = dict(os.environ if environ is None else environ)
    file = Path(path) if path else config_path(env)
    layers = []
    if talks_to_sandboxes(env) and SANDBOX_CONFIG_PATH.exists():
        layers.append(ConfigLayer(f"sandbox settings ({SANDBOX_CONFIG_PATH})", _read_yaml(SANDBOX_CONFIG_PATH)))
    if file.exists():
        layers.append(ConfigLayer(str(file), _read_yaml(file)))
    elif path or env.get("ZSYNC_CONFIG"):
        raise ConfigError(
            f"zsync config file {file} does not exist (set by ZSYNC_CONFIG); "
            "point ZSYNC_CONFIG at an existing file, or unset it to use zsync.yaml"
        )
    # Above the config file: the committed zsync.yaml spells out every default (e.g.
    # `invoice_settlement: false`), and the demo's choice for its tenant must still hold.
    demo = demo_settings_path(env)
    if talks_to_sandboxes(env) and demo.exists():
        layers.append(ConfigLayer(f"demo settings ({demo})", _read_yaml(demo)))
    layers += [ConfigLayer(ENV_PREFIX + key.upper(), {key: value}) for key, value in _env_overrides(env).items()]
    return layers


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The built-in defaults, the sandbox settings (sandboxes only), the file, `ZSYNC_<KEY>`."""
    env = dict(os.environ if environ is None else environ)
    raw: dict[str, Any] = {}
    for layer in config_layers(path, env):
        raw.update(layer.values)
    return parse_config(raw, source=str(Path(path) if path else config_path(env)))


def config_sources(environ: Mapping[str, str] | None = None, path: Path | str | None = None) -> dict[str, str]:
    """Key -> where its effective value comes from ("default" or the layer that set it last)."""
    sources = dict.fromkeys(Config.model_fields, "default")
    for layer in config_layers(path, environ=environ):
        sources.update(dict.fromkeys((k for k in layer.values if k in sources), layer.source))
    return sources


def _environ(env_items: tuple[tuple[str, str], ...], sandboxes: bool) -> dict[str, str]:
    env = dict(env_items)
    if not sandboxes:
        env["ZUORA_CLIENT_ID"] = "set"  # only its presence matters to load_config
    return env


@lru_cache(maxsize=4)
def _cached(path: str, stamp: tuple[int, ...], env_items: tuple[tuple[str, str], ...], sandboxes: bool) -> Config:
    return load_config(path, _environ(env_items, sandboxes))


@lru_cache(maxsize=4)
def _cached_sources(
    path: str, stamp: tuple[int, ...], env_items: tuple[tuple[str, str], ...], sandboxes: bool
) -> dict[str, str]:
    return config_sources(_environ(env_items, sandboxes), path or None)


def _stamp(file: Path) -> tuple[int, int]:
    stat = file.stat() if file.exists() else None
    return (stat.st_mtime_ns, stat.st_size) if stat else (0, 0)


def _current() -> tuple[str, tuple[int, ...], tuple[tuple[str, str], ...], bool]:
    """What the config of this process is read from: re-read when the file, the demo's
    settings, a ZSYNC_ variable or the use of the sandboxes changes."""
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    file = config_path()
    stamp = (*_stamp(file), *_stamp(demo_settings_path()))
    return (
        str(file) if file.exists() or "ZSYNC_CONFIG" in env else "",
        stamp,
        tuple(sorted(env.items())),
        talks_to_sandboxes(),
    )


def current_config() -> Config:
    """The config for this process (see `_current`)."""
    return _cached(*_current())


def current_config_sources() -> dict[str, str]:
    """`config_sources` of `current_config`, read as often as it is: every plan step shows them,
    and reading the YAML layers again was ~30 ms a step."""
    return dict(_cached_sources(*_current()))
