"""Flows that exist only for tests, registered as plugins (entry point group `zsync.flows`) by the
test that uses them, never in the product's asset graph."""
