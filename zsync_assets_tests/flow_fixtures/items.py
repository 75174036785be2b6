from zsync_assets_tests.fixtures.flow_suite import FlowFixture, SourceEdit
from zsync_assets_tests.fixtures.user_actions import rename_charge

ITEMS = FlowFixture("items", "zuora", SourceEdit(rename_charge))
