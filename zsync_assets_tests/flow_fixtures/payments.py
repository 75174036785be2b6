from zsync_assets_tests.fixtures.flow_suite import FlowFixture, SourceEdit
from zsync_assets_tests.fixtures.settlements import add_netsuite_payment
from zsync_assets_tests.fixtures.user_actions import cancel_in_zuora, comment, delete_in_netsuite, memo
from zsync_assets_tests.flow_fixtures.invoices import TAX_ITEM

# Payments settle synced invoices.
PAYMENTS_TO_NETSUITE = FlowFixture(
    "payments", "zuora", SourceEdit(comment("payments")), undo=cancel_in_zuora("payments"), config=TAX_ITEM
)
PAYMENTS_TO_ZUORA = FlowFixture(
    "netsuite_payments",
    "netsuite",
    SourceEdit(memo("customerPayment")),
    undo=delete_in_netsuite("customerPayment"),
    config={"payments_ns_to_zuora": True, **TAX_ITEM},
    arrange=add_netsuite_payment,
)
