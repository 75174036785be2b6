"""Each flow's fixture for the generic suite (zsync_assets_tests/fixtures/flow_suite.py): one
module per module of zsync_assets/flows/, each declaring its flows' `FlowFixture`s."""
