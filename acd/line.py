"""A queue's line: the keys of its WAITING tasks in rule O1 order, with ranks (rule P1).

Keys are ``(neg_prio, order, seq)`` tuples, unique by ``seq``. They live in sorted
blocks of at most ``2 * LOAD`` keys; ``maxes`` holds each block's last key and a Fenwick
tree counts the keys of each block but the first, so ``add``, ``remove`` and ``rank``
cost two binary searches, a Fenwick walk over the blocks (O(log n)) and a list shift
within one block (O(LOAD), a ``memmove``). The two ends, where nearly all the traffic
is, cost less: a newcomer at the back of the line, the usual arrival, is an append whose
rank is the length, and a task offered from the first block (most are) is looked for
there without searching the blocks, and counted without a walk.

Why not a Fenwick tree over the tasks themselves: O1 keys are not known in advance
(an ``arrival`` given by the app, a transfer keeping its place, a priority boost all
insert in the middle), so positions need a dynamic ordered structure. Why not
``sortedcontainers.SortedList`` (tried first): the same design, but its insert does
not give the new key's rank, so an arrival searched twice; in ``bench/acd.py`` an
arrival cost about 2 us more with it (11.6 against 9.6), the other inputs the same
within noise. And the engine stays free of dependencies.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

LOAD = 256


class Line:
    """Sorted unique keys with their rank (how many keys are smaller)."""

    __slots__ = ("blocks", "maxes", "n", "tree")

    def __init__(self) -> None:
        self.blocks: list[list[Any]] = []
        self.maxes: list[Any] = []
        # Fenwick tree over the sizes of blocks 1.. (tree[b] for block b): the first
        # block, where offered tasks leave from, is counted by its own length
        self.tree: list[int] = [0]
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Any:
        for blk in self.blocks:
            yield from blk

    def _rebuild(self) -> None:
        """Recount the Fenwick tree after blocks were split, merged or dropped."""
        m = len(self.blocks)
        tree = [0] * max(m, 1)
        for i in range(1, m):
            tree[i] += len(self.blocks[i])
            j = i + (i & -i)
            if j < m:
                tree[j] += tree[i]
        self.tree = tree

    def _count(self, b: int, d: int) -> None:
        """Block ``b`` gained (d = 1) or lost (-1) a key."""
        tree = self.tree
        m = len(tree)
        while 0 < b < m:
            tree[b] += d
            b += b & -b

    def _before(self, b: int) -> int:
        """How many keys the blocks before block ``b`` hold."""
        if not b:
            return 0
        tree = self.tree
        s = len(self.blocks[0])
        b -= 1
        while b:
            s += tree[b]
            b &= b - 1
        return s

    def add(self, key: Any) -> int:
        """Insert ``key`` (not present); returns its rank, 0 = first."""
        maxes = self.maxes
        rank = self.n
        self.n += 1
        if not maxes:
            self.blocks.append([key])
            maxes.append(key)
            self._rebuild()
            return 0
        if key > maxes[-1]:  # the back of the line: an append
            b = len(maxes) - 1
            blk = self.blocks[b]
            blk.append(key)
            maxes[b] = key
        else:
            b = bisect_left(maxes, key)
            blk = self.blocks[b]
            i = bisect_left(blk, key)
            blk.insert(i, key)
            rank = self._before(b) + i
        if len(blk) > 2 * LOAD:
            self.blocks.insert(b + 1, blk[LOAD:])
            del blk[LOAD:]
            maxes[b] = blk[-1]
            maxes.insert(b + 1, self.blocks[b + 1][-1])
            self._rebuild()
        else:
            self._count(b, 1)
        return rank

    def remove(self, key: Any) -> None:
        """Take out ``key``, which must be present."""
        maxes = self.maxes
        # most tasks leave from near the front (offered): try the first block first
        b = 0 if maxes and key <= maxes[0] else bisect_left(maxes, key)
        if b == len(maxes):
            raise KeyError(key)
        blk = self.blocks[b]
        i = bisect_left(blk, key)
        if blk[i] != key:
            raise KeyError(key)
        del blk[i]
        self.n -= 1
        if not blk:
            del self.blocks[b]
            del maxes[b]
            self._rebuild()
            return
        if i == len(blk):
            maxes[b] = blk[-1]
        if len(blk) < LOAD // 4 and len(self.blocks) > 1:  # merge into a neighbour
            a = b - 1 if b else b
            self.blocks[a].extend(self.blocks.pop(a + 1))
            del maxes[a]
            if len(self.blocks[a]) > 2 * LOAD:
                full = self.blocks[a]
                self.blocks.insert(a + 1, full[LOAD:])
                del full[LOAD:]
                maxes.insert(a, full[-1])
            self._rebuild()
            return
        self._count(b, -1)

    def rank(self, key: Any) -> int:
        """How many keys are smaller than ``key`` (its 0-based place if present)."""
        maxes = self.maxes
        if not maxes or key > maxes[-1]:
            return self.n
        b = bisect_left(maxes, key)
        return self._before(b) + bisect_left(self.blocks[b], key)
