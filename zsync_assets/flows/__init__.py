"""The declared flows: every `Flow` a module of this package declares at its top level, found by
looking, so adding a flow is adding its module (README "Adding a flow"); plus the flows of
installed plugins, named by the entry point group `zsync.flows` (each entry point a module
whose top-level `Flow`s are taken the same way), e.g. in a plugin's pyproject.toml:

    [project.entry-points."zsync.flows"]
    contacts = "my_package.contacts"
"""

import functools
import importlib
import pkgutil
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from types import ModuleType

from zsync_assets.config import Config
from zsync_assets.engine.flow import Flow

PLUGIN_GROUP = "zsync.flows"


def _declared_in(module: ModuleType) -> list[Flow]:
    return [value for value in vars(module).values() if isinstance(value, Flow)]


def _modules() -> Iterable[ModuleType]:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if not info.ispkg:  # `mapping/` holds what flows share, no flow
            yield importlib.import_module(f"{__name__}.{info.name}")
    for point in sorted(entry_points(group=PLUGIN_GROUP), key=lambda point: point.name):
        yield point.load()


def dependency_order(flows: list[Flow]) -> list[Flow]:
    """The flows with every one after the flows it depends on, else in the order given (for
    readers and listings; Dagster orders the runs by `depends_on` itself). A dependency no flow
    declares, or a circle, fails here naming the flows."""
    names = {flow.name for flow in flows}
    unknown = {(flow.name, name) for flow in flows for name in flow.depends_on if name not in names}
    if unknown:
        raise ValueError(f"flows depend on undeclared flows (flow, dependency): {sorted(unknown)}")
    ordered: list[Flow] = []
    todo = list(flows)
    while todo:
        waiting = {flow.name for flow in todo}
        ready = [flow for flow in todo if not waiting & set(flow.depends_on)]
        if not ready:
            raise ValueError(f"flows depend on each other in a circle: {sorted(waiting)}")
        ordered += ready
        todo = [flow for flow in todo if flow not in ready]
    return ordered


def all_flows() -> list[Flow]:
    return list(_flows_on(tuple(sys.path)))


@functools.cache
def _flows_on(path: tuple[str, ...]) -> tuple[Flow, ...]:
    """Looked up once per sys.path (reading the installed distributions' entry points takes tens
    of ms, and the flows are asked for on every run and audit refresh); a plugin installed on a
    new path entry is seen."""
    declared: dict[int, Flow] = {}
    for module in _modules():
        for flow in _declared_in(module):  # a flow imported by another module counts once
            declared.setdefault(id(flow), flow)
    return tuple(dependency_order(list(declared.values())))


def configured_flows(config: Config) -> list[Flow]:
    """Only the directions the config enables exist in the asset graph."""
    return [flow for flow in all_flows() if flow.enabled(config)]
