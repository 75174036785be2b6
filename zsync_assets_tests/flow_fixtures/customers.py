from zsync_assets_tests.fixtures.flow_suite import FlowFixture, SourceEdit
from zsync_assets_tests.fixtures.user_actions import rename_account, rename_customer

# Zuora accounts -> NetSuite customers: only the payloads that carry the name show a rename.
CUSTOMERS_TO_NETSUITE = FlowFixture(
    "customers", "zuora", SourceEdit(rename_account, shows_in=lambda payload: "companyName" in payload)
)
CUSTOMERS_TO_ZUORA = FlowFixture(
    "customers", "netsuite", SourceEdit(rename_customer), config={"customer_master": "netsuite"}
)
