"""The ingest log's partitions: each customer's events go to one partition, each partition to one replica.

A customer's partition is a stable hash of its id modulo the number of partitions, so every producer and
every replica agree on it without asking anyone; replica `i` of `n` takes the partitions `p` with
`p % n == i`.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

_REPLICA = re.compile(r"(\d+)/(\d+)")


def partition_of(customer_id: str, partitions: int) -> int:
    """The partition of the customer's events, in `[0, partitions)`."""
    return zlib.crc32(customer_id.encode("utf-8", "surrogatepass")) % partitions


@dataclass(frozen=True, slots=True)
class Replica:
    """This process's place among the metering replicas: `index` of `count`."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str, partitions: int) -> Replica:
        """`i/n` (0 <= i < n <= partitions), or ValueError naming what is wrong."""
        match = _REPLICA.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"metering replica {text!r} must read i/n, e.g. 0/2")
        index, count = int(match[1]), int(match[2])
        if not 0 <= index < count:
            raise ValueError(f"metering replica {text!r}: the index must be at least 0 and below {count}")
        if count > partitions:
            raise ValueError(f"metering replica {text!r}: more replicas than the {partitions} ingest partitions")
        return cls(index, count)

    def partitions(self, partitions: int) -> list[int]:
        """The partitions this replica consumes."""
        return [partition for partition in range(partitions) if partition % self.count == self.index]
