"""The declared flows. Adding one: a module here with a `Flow` and its pure polars mapping, then
list it in `all_flows()` below (order = dependency order, for readers; Dagster uses `depends_on`).
README "Adding a flow" lists the rest."""

from zsync_assets.config import Config
from zsync_assets.engine.flow import Flow


def all_flows() -> list[Flow]:
    from zsync_assets.flows.adjustments import ADJUSTMENTS
    from zsync_assets.flows.credit_memos import CREDIT_MEMOS
    from zsync_assets.flows.customers import CUSTOMERS_TO_NETSUITE, CUSTOMERS_TO_ZUORA
    from zsync_assets.flows.debit_memos import DEBIT_MEMOS
    from zsync_assets.flows.invoices import INVOICES
    from zsync_assets.flows.items import ITEMS
    from zsync_assets.flows.netsuite_credit_memos import NETSUITE_CREDIT_MEMOS
    from zsync_assets.flows.payments import PAYMENTS_TO_NETSUITE, PAYMENTS_TO_ZUORA
    from zsync_assets.flows.refunds import REFUNDS_TO_NETSUITE, REFUNDS_TO_ZUORA
    from zsync_assets.flows.subscriptions import SUBSCRIPTIONS

    return [CUSTOMERS_TO_NETSUITE, CUSTOMERS_TO_ZUORA, ITEMS, INVOICES, SUBSCRIPTIONS,
            ADJUSTMENTS, NETSUITE_CREDIT_MEMOS, CREDIT_MEMOS, DEBIT_MEMOS,
            PAYMENTS_TO_NETSUITE, PAYMENTS_TO_ZUORA, REFUNDS_TO_NETSUITE, REFUNDS_TO_ZUORA]


def configured_flows(config: Config) -> list[Flow]:
    """Only the directions the config enables exist in the asset graph."""
    return [flow for flow in all_flows() if flow.enabled(config)]
