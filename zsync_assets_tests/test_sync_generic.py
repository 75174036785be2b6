"""Every declared flow, end to end through both sandboxes: a second run sends nothing, one edit
at the source becomes one update, one cancel or delete one reversal
(zsync_assets_tests/fixtures/flow_suite.py says exactly what is checked).

A new flow needs no line here: only its fixture, a `FlowFixture` in a module of
zsync_assets_tests/flow_fixtures/; the test fails naming the flow when it has none.
"""

from __future__ import annotations

import pytest

from zsync_assets.engine.flow import Flow
from zsync_assets.flows import all_flows
from zsync_assets_tests.fixtures.flow_suite import reruns_silently_and_turns_one_edit_into_one_update


@pytest.mark.parametrize("flow", all_flows(), ids=lambda f: f"{f.name}:{f.source_system}->{f.target_system}")
def test_every_flow_reruns_silently_and_turns_one_edit_into_one_update(flow: Flow, make_sync_env):
    reruns_silently_and_turns_one_edit_into_one_update(flow, make_sync_env)
