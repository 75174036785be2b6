"""Run sandbox apps on loopback: in a background thread (tests) or in the foreground (CLI)."""

from __future__ import annotations

import importlib
import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from zsync_assets.sandbox import SANDBOXES, defaults
from zsync_assets.sandbox.faults import DroppedConnection


class _HideInjectedDrops(logging.Filter):
    """uvicorn logs every app exception; an injected drop is expected, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


logging.getLogger("uvicorn.error").addFilter(_HideInjectedDrops())


def free_port() -> int:
    with socket.socket() as s:
        s.bind((defaults.HOST, 0))
        return s.getsockname()[1]


def port_is_open(port: int, host: str = defaults.HOST) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def load_app_factory(name: str):
    """`create_app` of a sandbox, or None when that sandbox is not part of this build."""
    module_name, _ = SANDBOXES[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    return module.create_app


@dataclass
class ServerThread:
    """One ASGI app served by uvicorn in a daemon thread; `stop()` shuts it down cleanly."""

    app: ASGIApp
    port: int
    host: str = defaults.HOST

    def start(self, timeout_s: float = 20.0) -> ServerThread:
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="off",
            timeout_keep_alive=30,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name=f"sandbox:{self.port}")
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_sandbox(
    name: str,
    data_dir: Path,
    *,
    port: int | None = None,
    seed: int = defaults.DEFAULT_SEED,
    size: int = defaults.DEFAULT_SIZE,
    **settings,
) -> ServerThread:
    factory = load_app_factory(name)
    if factory is None:
        raise RuntimeError(f"the {name} sandbox is not part of this build")
    app = factory(Path(data_dir), seed=seed, size=size, **settings)
    return ServerThread(app, port or free_port()).start()


def serve_forever(
    data_dir: Path, ports: dict[str, int], *, seed: int, size: int, settings: dict[str, dict] | None = None
) -> None:
    """Start every available sandbox and block until Ctrl-C (the `zsync sandbox` command);
    `settings` per sandbox name go to its `create_app`."""
    servers = []
    for name in SANDBOXES:
        if load_app_factory(name) is None:
            print(f"{name} sandbox: not part of this build, skipped", flush=True)
            continue
        server = start_sandbox(
            name, data_dir / name, port=ports[name], seed=seed, size=size, **(settings or {}).get(name, {})
        )
        servers.append(server)
        print(f"{name} sandbox: {server.url} (data in {data_dir / name})", flush=True)
    print("sandboxes ready", flush=True)
    try:
        while all(s.thread.is_alive() for s in servers):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for s in servers:
            s.stop()
