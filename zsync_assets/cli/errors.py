"""What an operator sees when a command fails: one line naming the problem and what to do.

A configuration, credential, connection or input problem is not a bug, so it gets no
traceback: `zsync: error: <what> ; <what to do>` on stderr and exit code 2. Anything else is
a bug and keeps its traceback. `zsync --debug ...` (or ZSYNC_DEBUG=1) shows the traceback of
every failure; a Dagster run keeps it in its event log either way.

Exit codes: 0 success; 1 the command ran and found something failed or blocked (`status`,
`plan`, `sync`, `why`; `check`: custom fields missing); 2 usage, configuration, credential or
connection error (README, "Exit codes").
"""

from __future__ import annotations

import os

import click
import duckdb

from zsync_assets.clients.netsuite import NetSuiteAuthError
from zsync_assets.clients.zuora import ZuoraAuthError
from zsync_assets.config import ConfigError
from zsync_assets.engine.instance import InstanceMismatch
from zsync_assets.engine.push import PushLocked
from zsync_assets.lib.failure import VendorUnreachable
from zsync_assets.lib.staging import StagingTypeError
from zsync_assets.lib.warehouse import WarehouseLocked
from zsync_assets.vendor import MissingVendorFile

EXIT_FOUND_PROBLEMS = 1
EXIT_USAGE = 2


class OperatorError(click.ClickException):
    """A problem the operator can fix; shown as one line, exit code 2."""

    exit_code = EXIT_USAGE

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"zsync: error: {self.format_message()}", err=True, file=file)


def _first_line(text: str) -> str:
    return " ".join(str(text).split())


def explain(exc: BaseException) -> str | None:
    """The one-line explanation of an expected failure, or None for a bug."""
    if isinstance(exc, ZuoraAuthError):
        return (
            f"Zuora refused the credentials ({exc.route} answered HTTP {exc.status}); check "
            "ZUORA_CLIENT_ID / ZUORA_CLIENT_SECRET (the OAuth client) and ZUORA_BASE_URL"
        )
    if isinstance(exc, NetSuiteAuthError):
        return (
            f"NetSuite refused the token-based authentication ({exc.code}: {_first_line(exc.message)}); "
            "check NETSUITE_ACCOUNT_ID, NETSUITE_CONSUMER_KEY / NETSUITE_CONSUMER_SECRET and "
            "NETSUITE_TOKEN_ID / NETSUITE_TOKEN_SECRET"
        )
    if isinstance(
        exc,
        ConfigError
        | VendorUnreachable
        | InstanceMismatch
        | WarehouseLocked
        | PushLocked
        | MissingVendorFile
        | StagingTypeError,
    ):
        return _first_line(str(exc))
    if isinstance(exc, duckdb.Error):
        return f"DuckDB: {_first_line(str(exc))}"
    return None


def debugging(ctx: click.Context | None) -> bool:
    flag = bool(ctx and ctx.find_root().params.get("debug"))
    return flag or os.environ.get("ZSYNC_DEBUG", "") not in ("", "0")


class ZsyncGroup(click.Group):
    """Turns expected failures of any command into one line and exit code 2 (see the module doc)."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's signature
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            message = explain(exc)
            if message is None or debugging(ctx):
                raise
            raise OperatorError(message) from None
