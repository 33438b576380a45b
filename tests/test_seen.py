"""At-most-once bookkeeping: a compact set of submission identities."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from paxos_edu.seen import SeenSet


def test_an_identity_is_new_once():
    seen = SeenSet()
    assert seen.add(1, 7, 0) is True
    assert seen.add(1, 7, 0) is False
    assert seen.contains(1, 7, 0)
    assert len(seen) == 1


def test_clients_and_sessions_are_separate_streams():
    seen = SeenSet()
    assert seen.add(1, 7, 0) and seen.add(2, 7, 0) and seen.add(1, 8, 0)
    assert not seen.contains(3, 7, 0) and not seen.contains(1, 9, 0)
    assert len(seen) == 3


def test_out_of_order_numbers_are_compacted_into_the_watermark():
    seen = SeenSet()
    for seq in (3, 1, 2):
        assert seen.add(5, 0, seq)
    assert not seen.contains(5, 0, 0)
    assert seen.add(5, 0, 0)
    stream = seen._streams[(5, 0)]
    assert stream.low == 4 and stream.above == set()
    assert all(seen.contains(5, 0, s) for s in range(4)) and not seen.contains(5, 0, 4)


identities = st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 40))


@given(st.lists(identities, max_size=200))
def test_seen_set_behaves_like_a_plain_set(items):
    seen, plain = SeenSet(), set()
    for item in items:
        assert seen.add(*item) == (item not in plain)
        plain.add(item)
        assert len(seen) == len(plain)
    for item in {(c, s, q) for c in range(4) for s in range(3) for q in range(41)}:
        assert seen.contains(*item) == (item in plain)
