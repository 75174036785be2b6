"""The Zuora sandbox: a persistent, seeded HTTP server that speaks Zuora's REST API."""
