"""The sync engine: plan -> push -> links -> write-back, with no vendor field names in it."""
