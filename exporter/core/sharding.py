"""Sharding over replicas, as kube-state-metrics does it: `--shard` of `--total-shards`.

Every unit of work (a subscription, an Azure Stack Hub stamp; Azure Local clusters follow their
subscription) belongs to exactly one shard, chosen by rendezvous hashing: each shard scores the
key and the highest score wins. The owner of a key only changes when its shard goes away or a
new shard outscores it, so going from N to N+1 shards moves about 1/(N+1) of the work (a
modulo hash would move almost all of it), and every replica computes the same answer without
talking to the others.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def _score(key: str, shard: int) -> int:
    digest = hashlib.blake2b(f"{shard}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(key: str, total_shards: int) -> int:
    """The shard (0-based) that owns `key` (compared lowercased: Azure IDs vary in case)."""
    folded = key.lower()
    return max(range(total_shards), key=lambda shard: _score(folded, shard))


@dataclass(frozen=True, slots=True)
class Shard:
    index: int = 0
    total: int = 1

    @property
    def sharded(self) -> bool:
        return self.total > 1

    def owns(self, key: str) -> bool:
        return not self.sharded or owner(key, self.total) == self.index
