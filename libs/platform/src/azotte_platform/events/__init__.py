"""Events: outbox records, the relay to NATS JetStream, and durable idempotent consumers."""
