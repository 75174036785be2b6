from zsync_assets_tests.fixtures.flow_suite import FlowFixture, SourceEdit
from zsync_assets_tests.fixtures.memos import add_netsuite_credit_memo
from zsync_assets_tests.fixtures.user_actions import delete_in_netsuite, memo
from zsync_assets_tests.flow_fixtures.invoices import TAX_ITEM

# A credit memo entered in NetSuite on a synced invoice.
NETSUITE_CREDIT_MEMOS = FlowFixture(
    "netsuite_credit_memos",
    "netsuite",
    SourceEdit(memo("creditMemo")),
    undo=delete_in_netsuite("creditMemo"),
    config=TAX_ITEM,
    arrange=add_netsuite_credit_memo,
)
