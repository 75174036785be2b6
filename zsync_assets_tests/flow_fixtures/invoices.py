from zsync_assets_tests.fixtures.flow_suite import FlowFixture, SourceEdit
from zsync_assets_tests.fixtures.user_actions import set_rev_rec_date

# Zuora's tax codes post to a NetSuite tax item the sandboxes cannot share by name.
TAX_ITEM = {"default_tax_item": "CA State Tax"}

# Only the payloads that carry the lines show a line's rev rec date.
INVOICES = FlowFixture(
    "invoices", "zuora", SourceEdit(set_rev_rec_date, shows_in=lambda payload: "itemList" in payload), config=TAX_ITEM
)
