from zsync_assets_tests.fixtures.flow_suite import FlowFixture, SourceEdit
from zsync_assets_tests.fixtures.memos import comment_adjustment
from zsync_assets_tests.fixtures.user_actions import cancel_adjustment
from zsync_assets_tests.flow_fixtures.invoices import TAX_ITEM

ADJUSTMENTS = FlowFixture(
    "adjustments", "zuora", SourceEdit(comment_adjustment), undo=cancel_adjustment, config=TAX_ITEM
)
