"""Lifecycle domain: customers, subscriptions, the state machine, policies, proration and dunning."""
