"""Entitlement domain: grants, access decisions, the access projection, groups, suspensions, drift."""
