"""Shared mechanics of the Azotte services: settings, database, gRPC, events, idempotency, clock."""
