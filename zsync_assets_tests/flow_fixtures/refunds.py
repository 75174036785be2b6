from zsync_assets_tests.fixtures.flow_suite import FlowFixture, SourceEdit
from zsync_assets_tests.fixtures.settlements import add_netsuite_payment, add_netsuite_refund
from zsync_assets_tests.fixtures.user_actions import cancel_in_zuora, comment, delete_in_netsuite, memo
from zsync_assets_tests.flow_fixtures.invoices import TAX_ITEM

REFUNDS_TO_NETSUITE = FlowFixture(
    "refunds", "zuora", SourceEdit(comment("refunds")), undo=cancel_in_zuora("refunds"), config=TAX_ITEM
)
# A refund of a payment entered in NetSuite with 10.00 left unapplied.
REFUNDS_TO_ZUORA = FlowFixture(
    "netsuite_refunds",
    "netsuite",
    SourceEdit(memo("customerRefund")),
    undo=delete_in_netsuite("customerRefund"),
    config={"payments_ns_to_zuora": True, **TAX_ITEM},
    arrange=lambda env: add_netsuite_refund(env, add_netsuite_payment(env, unapplied=10.0)["payment_id"], 10.0),
)
