from zsync_assets_tests.fixtures.flow_suite import FlowFixture, SourceEdit
from zsync_assets_tests.fixtures.sales_orders import add_sales_orders
from zsync_assets_tests.fixtures.user_actions import renumber_sales_order

# Sales orders sell synced items: arranged after the items flow ran.
SUBSCRIPTIONS = FlowFixture(
    "subscriptions", "netsuite", SourceEdit(renumber_sales_order), arrange=lambda env: add_sales_orders(env, count=2)
)
