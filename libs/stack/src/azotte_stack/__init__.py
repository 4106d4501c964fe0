"""Runs the Azotte suite locally on embedded PostgreSQL and NATS JetStream."""
