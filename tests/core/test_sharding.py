"""Rendezvous hashing: every key has exactly one owner, the load is even, and adding a shard
only moves the keys the new shard takes."""

from __future__ import annotations

import uuid
from collections import Counter

from exporter.core.sharding import Shard, owner

KEYS = [str(uuid.UUID(int=i * 7919 + 12345)) for i in range(3000)]


def test_exactly_one_shard_owns_each_key():
    for total in (1, 2, 3, 5):
        for key in KEYS[:500]:
            owners = [i for i in range(total) if Shard(i, total).owns(key)]
            assert owners == [owner(key, total)]


def test_ownership_is_case_insensitive_and_stable():
    key = "6F1C0B0E-2C5A-4B3E-9A51-3F0D2D7C1A10"
    assert owner(key, 7) == owner(key.lower(), 7)
    assert owner(key, 7) == 1  # fixed forever: replicas of different versions must agree


def test_load_is_even():
    counts = Counter(owner(key, 3) for key in KEYS)
    assert min(counts.values()) > 0.9 * len(KEYS) / 3


def test_going_from_3_to_4_shards_moves_only_what_the_new_shard_takes():
    moved = [key for key in KEYS if owner(key, 3) != owner(key, 4)]
    assert all(owner(key, 4) == 3 for key in moved)  # nothing moves between the old shards
    assert 0.2 < len(moved) / len(KEYS) < 0.3  # about a quarter, at most about a third


def test_one_shard_owns_everything():
    assert all(Shard().owns(key) for key in KEYS[:100])
    assert not Shard().sharded
