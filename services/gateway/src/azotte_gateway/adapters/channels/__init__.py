"""Adapters of store-billed channels (App Store, Google Play, telecom carriers, partners): one per channel.

Each verifies the channel's notifications and normalizes them into lifecycle channel events; the
registry holds the adapters this process serves (the pattern of payments' PSP adapters).
"""
