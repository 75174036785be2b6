"""`zsync config`: the effective configuration, and where each value comes from."""

from __future__ import annotations

import json
import re

import click

from zsync_assets.cli.output import emit, format_option, wrapped


def effective_config() -> list[dict]:
    """key, value, source per setting: the values every zsync process and the Dagster UI use now."""
    from zsync_assets.config import config_sources, current_config

    values = current_config().model_dump(mode="json")
    sources = config_sources()
    return [{"key": key, "value": values[key], "source": _short(sources[key])} for key in values]


def _short(source: str) -> str:
    """A file under the working directory by its relative path (`zsync.yaml`), others as they are."""
    import os

    for path in re.findall(r"/[^()]+", source):
        relative = os.path.relpath(path)
        if not relative.startswith(".."):
            source = source.replace(path, relative)
    return source


@click.command("config")
@format_option
def config_command(fmt: str) -> None:
    """Show the effective configuration: every key, its value and where it comes from.

    Sources, lowest first: the built-in default; with the sandboxes (no ZUORA_* / NETSUITE_*
    credential set) zsync_assets/sandbox/zsync.sandbox.yaml; the config file (zsync.yaml, or
    ZSYNC_CONFIG); a ZSYNC_<KEY> environment variable. Credentials are not configuration and
    are never shown.
    """
    from zsync_assets.config import config_path, uses_sandboxes

    rows = effective_config()
    if fmt == "table":
        target = "the embedded sandboxes" if uses_sandboxes() else "the tenants named by ZUORA_* / NETSUITE_*"
        click.echo(wrapped(f"config file: {config_path()}; systems: {target}"))
    if fmt == "table":  # values as YAML/JSON text, as they would be written
        rows = [{**r, "value": json.dumps(r["value"], ensure_ascii=False)} for r in rows]
    emit(rows, fmt, columns=["key", "value", "source"])
