"""zsync: an open Zuora <-> NetSuite connector built as a Dagster asset graph."""
