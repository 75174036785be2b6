"""Before a sync: do both systems have the custom fields zsync reads and writes?

Without them every record fails on its own (Zuora refuses an unknown field, NetSuite answers
`INVALID_KEY_OR_REF` per record), so zsync asks each vendor once, up front, and says what to
create: Zuora describes an object's fields (`GET /v1/describe/{object}`), NetSuite lists its
custom field definitions per kind (SuiteTalk `getCustomizationId`).

Each flow declares the custom fields it reads or writes (`Flow.custom_fields`); only the
configured flows count. `check_custom_fields` is the one function the CLI
(`zsync check`, `cli/check.py`) and a Dagster asset check call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from zsync_assets.engine.flow import Flow

if TYPE_CHECKING:  # the clients import Dagster: not at `zsync` start-up
    from zsync_assets.clients.netsuite import NetSuiteResource
    from zsync_assets.clients.zuora import ZuoraResource

# NetSuite: script id prefix -> (customization type, where the UI creates it, what it applies to).
NETSUITE_KINDS = {
    "custentity": ("entityCustomField", "Entity Fields", "Customer"),
    "custitem": ("itemCustomField", "Item Fields", "Non-inventory and Service items (for sale)"),
    "custbody": (
        "transactionBodyCustomField",
        "Transaction Body Fields",
        "Invoice, Sales Order, Customer Payment, Customer Refund, Credit Memo",
    ),
    "custcol": ("transactionColumnCustomField", "Transaction Column Fields", "Sale items"),
}
NETSUITE_TYPES = {"custentity_zsync_send_to_zuora": "Check Box", "custbody_zsync_sync_date": "Date/Time"}


@dataclass(frozen=True)
class MissingField:
    system: str  # "zuora" | "netsuite"
    owner: str  # Zuora object, or NetSuite customization type
    name: str
    flows: tuple[str, ...]

    def how_to_create(self) -> str:
        if self.system == "zuora":
            return (
                f"a field of Zuora's NetSuite integration ({self.owner}): Zuora adds the __NS fields when it "
                "enables the NetSuite Connector on the tenant; ask Zuora Global Support (Extension Studio > "
                "Object Manager creates only __c fields)"
            )
        prefix, _, rest = self.name.partition("_")
        _, menu, applies_to = NETSUITE_KINDS[prefix]
        return (
            f"Customization > Lists, Records, & Fields > {menu} > New: ID '_{rest}' (NetSuite prefixes "
            f"'{prefix}'), type {NETSUITE_TYPES.get(self.name, 'Free-Form Text')}, applied to {applies_to}"
        )


@dataclass
class FieldReport:
    checked: int = 0
    missing: list[MissingField] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)  # system -> why


def needed_fields(flows: Iterable[Flow]) -> tuple[dict[tuple[str, str], list[str]], dict[str, list[str]]]:
    """Zuora {(object, field): [flow]} and NetSuite {script id: [flow]} for these flows."""
    zuora: dict[tuple[str, str], list[str]] = {}
    netsuite: dict[str, list[str]] = {}
    for flow in flows:
        needs = flow.custom_fields
        for obj, names in needs.zuora.items():
            for name in names:
                zuora.setdefault((obj, name), []).append(flow.name)
        for script_id in needs.netsuite:
            netsuite.setdefault(script_id, []).append(flow.name)
    return zuora, netsuite


def check_custom_fields(zuora: ZuoraResource, netsuite: NetSuiteResource, flows: Iterable[Flow]) -> FieldReport:
    """Which custom fields the flows need and the systems lack. A system that cannot be asked
    (down, refused credentials, no such entity) is reported in `unreachable`, not raised."""
    from zsync_assets.clients.netsuite.customization import get_customization_ids

    zuora_needs, netsuite_needs = needed_fields(flows)
    report = FieldReport(checked=len(zuora_needs) + len(netsuite_needs))
    try:
        with zuora.get_client() as client:
            present = {obj: set(client.describe(obj)) for obj in sorted({obj for obj, _ in zuora_needs})}
        report.missing += [
            MissingField("zuora", obj, name, tuple(flows_))
            for (obj, name), flows_ in sorted(zuora_needs.items())
            if name not in present[obj]
        ]
    except Exception as exc:  # noqa: BLE001 - any failure to ask means "cannot tell": reported as such
        report.unreachable["zuora"] = f"{type(exc).__name__}: {exc}"
    try:
        kinds = sorted({_kind(s) for s in netsuite_needs})
        netsuite_client = netsuite.get_client()  # loads the WSDL: the first contact with the account
        try:
            defined = {ref.script_id for kind in kinds for ref in get_customization_ids(netsuite_client, kind)}
        finally:
            netsuite_client.close()
        report.missing += [
            MissingField("netsuite", _kind(s), s, tuple(flows_))
            for s, flows_ in sorted(netsuite_needs.items())
            if s not in defined
        ]
    except Exception as exc:  # noqa: BLE001
        report.unreachable["netsuite"] = f"{type(exc).__name__}: {exc}"
    return report


def _kind(script_id: str) -> str:
    return NETSUITE_KINDS[script_id.split("_", 1)[0]][0]
