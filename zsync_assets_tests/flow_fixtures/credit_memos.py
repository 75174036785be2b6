from zsync_assets_tests.fixtures.flow_suite import FlowFixture, SourceEdit
from zsync_assets_tests.fixtures.memos import add_zuora_memo, add_zuora_memos
from zsync_assets_tests.fixtures.user_actions import cancel_in_zuora, comment
from zsync_assets_tests.flow_fixtures.invoices import TAX_ITEM

# Memos made on synced accounts and invoices, + a posted memo applied nowhere: the one a user can
# unpost and cancel (Zuora refuses an applied one), for the reversal step.
CREDIT_MEMOS = FlowFixture(
    "credit_memos",
    "zuora",
    SourceEdit(comment("credit-memos")),
    undo=cancel_in_zuora("credit-memos"),
    config={"invoice_settlement": True, **TAX_ITEM},
    arrange=lambda env: [*add_zuora_memos(env, "credit"), add_zuora_memo(env, "credit")],
)
