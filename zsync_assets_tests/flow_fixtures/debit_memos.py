from zsync_assets_tests.fixtures.flow_suite import FlowFixture, SourceEdit
from zsync_assets_tests.fixtures.memos import add_zuora_memos
from zsync_assets_tests.fixtures.user_actions import cancel_in_zuora, comment
from zsync_assets_tests.flow_fixtures.invoices import TAX_ITEM

# Memos made on synced accounts and invoices.
DEBIT_MEMOS = FlowFixture(
    "debit_memos",
    "zuora",
    SourceEdit(comment("debit-memos")),
    undo=cancel_in_zuora("debit-memos"),
    config={"invoice_settlement": True, **TAX_ITEM},
    arrange=lambda env: add_zuora_memos(env, "debit"),
)
