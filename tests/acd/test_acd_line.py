"""The line (acd/line.py): ranks, adds and removes against a plain sorted list,
through block splits, merges and empty blocks."""

from __future__ import annotations

import bisect
import random

import pytest

from acd import line as line_mod
from acd.line import Line


@pytest.mark.parametrize("load", [2, 8, 16, 256])
def test_line_agrees_with_a_sorted_list(monkeypatch: pytest.MonkeyPatch, load: int) -> None:
    monkeypatch.setattr(line_mod, "LOAD", load)
    rng = random.Random(load)
    line, ref = Line(), []
    seq = 0
    for step in range(6000):
        r = rng.random()
        if r < 0.45 or not ref:  # mostly at the back, as arrivals are
            seq += 1
            at_back = rng.random() < 0.6
            order = float(seq if at_back else rng.randrange(seq))
            key = (0 if at_back else -rng.randrange(3), order, seq)
            assert line.add(key) == bisect.bisect_left(ref, key)
            bisect.insort(ref, key)
        elif r < 0.9:
            key = ref.pop(rng.randrange(len(ref)) if rng.random() < 0.5 else 0)
            line.remove(key)
        else:
            key = rng.choice(ref)
            assert line.rank(key) == ref.index(key)
        assert len(line) == len(ref)
        if step % 97 == 0:
            assert list(line) == ref
            assert all(line.rank(k) == i for i, k in enumerate(ref))
            assert line.rank((9, 0.0, 0)) == len(ref)  # past the back
            assert all(len(b) <= 2 * load for b in line.blocks)
    with pytest.raises(KeyError):
        line.remove((5, -1.0, -1))
