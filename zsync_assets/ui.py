"""`make ui`: the Dagster UI (`dg dev`) and the sandboxes it talks to, started and stopped as one.

    python -m zsync_assets.ui [--port 3000] [--zuora-port 8810] [--netsuite-port 8811]

Unless real credentials are set (`ZUORA_CLIENT_ID` or `NETSUITE_ACCOUNT_ID`, as for `zsync
demo`), the sandboxes start first (or are reused when they already answer), with the settings
the last `zsync demo` kept beside their data (config.py `write_demo_settings`; the plain demo's
when there was none), so what the UI materializes reaches a live host and runs the same flows.
`DAGSTER_HOME` is `data/dagster_home` unless set: the instance `zsync demo` writes its runs to,
with the `dagster.yaml` shipped there.

Stopping (Ctrl-C, or SIGTERM to this process) ends everything within 10 s:

- `dg dev` maps SIGTERM to whatever SIGINT does (dagster/_utils/interrupts.py
  `setup_interrupt_handlers`). A process a non-interactive shell starts in the background
  (`make ui &`) has SIGINT ignored, so `dg dev` would ignore SIGTERM too, and its webserver,
  daemon and code servers would inherit both as ignored. This launcher installs its own
  handlers before it starts anything: exec resets handled signals to their defaults in children.
- `dg dev` runs in a session of its own, so it hears a stop only from here: first SIGINT (its
  clean shutdown: webserver and daemon are told through their shutdown pipes), then what is left
  of its process group gets SIGTERM, then SIGKILL. Something is usually left: during shutdown
  dagster's proxy server manager restarts the code server it sees exit (dagster/_cli/
  proxy_server_manager.py), and that one would otherwise live until its heartbeat times out.
  A run still in flight is ended with them; its unanswered writes are looked up before
  anything is re-sent on the next run (README, "Idempotency and crashes").
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from zsync_assets.cli.sandboxes import SandboxProcess, start_sandboxes
from zsync_assets.config import REPO_ROOT, SANDBOX_DATA_VARIABLE, write_demo_settings
from zsync_assets.sandbox import defaults

DAGSTER_HOME = REPO_ROOT / "data" / "dagster_home"
# Seconds for each stage of a stop: dg dev's own shutdown, then SIGTERM to what is left of its
# group, then SIGKILL. The sandboxes stop in parallel. Together well under 10 s.
CLEAN_SHUTDOWN_S, TERM_S = 3.0, 1.5


class Stop(Exception):
    """SIGINT or SIGTERM arrived."""


def _stop(signum, frame):  # noqa: ANN001, ARG001 - signal handler signature
    raise Stop(signal.Signals(signum).name)


def uses_real_tenants(environ: dict[str, str]) -> bool:
    return bool(environ.get("ZUORA_CLIENT_ID") or environ.get("NETSUITE_ACCOUNT_ID"))


def ui_environment(
    environ: dict[str, str], sandboxes: SandboxProcess | None, sandbox_data_dir: str | Path = defaults.DEFAULT_DATA_DIR
) -> dict[str, str]:
    env = dict(environ)
    env.setdefault("DAGSTER_HOME", str(DAGSTER_HOME))
    # dg compares the active virtual environment with the project's `.venv`; running its binary
    # directly activates nothing, so say which one this is (what `source .venv/bin/activate` does).
    env["VIRTUAL_ENV"] = sys.prefix
    env["PATH"] = f"{Path(sys.prefix) / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    if sandboxes is not None:
        for name, value in sandboxes.env.items():
            env.setdefault(name, value)
        # dg dev's code servers run in the repo root: the demo's settings by an absolute path.
        env[SANDBOX_DATA_VARIABLE] = str(Path(sandbox_data_dir).resolve())
        write_demo_settings(None, env)
    return env


def _end_group(proc: subprocess.Popen) -> None:
    """SIGINT to dg dev, then SIGTERM and SIGKILL to whatever of its process group is left."""
    for sig, wait_s in ((signal.SIGINT, CLEAN_SHUTDOWN_S), (signal.SIGTERM, TERM_S), (signal.SIGKILL, 0.0)):
        try:
            if sig == signal.SIGINT:
                proc.send_signal(sig)
            else:
                os.killpg(proc.pid, sig)  # the group dg dev leads (start_new_session)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and _group_alive(proc):
            time.sleep(0.1)
        if not _group_alive(proc):
            return


def _group_alive(proc: subprocess.Popen) -> bool:
    proc.poll()  # reap dg dev itself once it has exited
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zsync_assets.ui", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3000, help="the UI's port (default 3000)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--zuora-port", type=int, default=defaults.ZUORA_PORT)
    parser.add_argument("--netsuite-port", type=int, default=defaults.NETSUITE_PORT)
    parser.add_argument(
        "--sandbox-data-dir", default=os.environ.get(SANDBOX_DATA_VARIABLE) or defaults.DEFAULT_DATA_DIR
    )
    parser.add_argument(
        "--sandbox-size",
        type=int,
        default=defaults.DEFAULT_SIZE,
        help="accounts to seed an empty sandbox data dir with",
    )
    args = parser.parse_args(argv)

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    sandboxes: SandboxProcess | None = None
    ui: subprocess.Popen | None = None
    try:
        if not uses_real_tenants(dict(os.environ)):
            sandboxes = start_sandboxes(
                args.zuora_port, args.netsuite_port, data_dir=args.sandbox_data_dir, size=args.sandbox_size
            )
            print(
                f"sandboxes on :{args.zuora_port} (Zuora) and :{args.netsuite_port} (NetSuite)"
                + ("" if sandboxes.proc else ", already running"),
                flush=True,
            )
        env = ui_environment(dict(os.environ), sandboxes, args.sandbox_data_dir)
        Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        ui = subprocess.Popen(
            [str(Path(sys.prefix) / "bin" / "dg"), "dev", "--port", str(args.port), "--host", args.host],
            cwd=REPO_ROOT,
            env=env,
            start_new_session=True,
        )
        return ui.wait()
    except Stop as stop:
        print(
            f"zsync ui: {stop}, stopping the UI" + (" and the sandboxes" if sandboxes and sandboxes.proc else ""),
            flush=True,
        )
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the cleanup short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if sandboxes is not None:
            sandboxes.terminate()
        if ui is not None:
            _end_group(ui)
        if sandboxes is not None:
            sandboxes.stop(timeout_s=TERM_S)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
