"""Sinks: the vendor side of a push (record shapes, list calls, lookups, write-back fields)."""
