"""Client library of the Azotte gateway."""

from azotte_client.watcher import EntitlementWatcher, WatchRefused

__all__ = ["EntitlementWatcher", "WatchRefused"]
