import dagster as dg

from zsync_assets.definitions import defs


def test_definitions_load_and_the_main_job_resolves():
    loaded = defs()
    assert isinstance(loaded, dg.Definitions)
    assert loaded.resolve_job_def("sync_all") is not None
