"""The client: numbering, packing, a window of values in flight, re-sending until acked."""

from __future__ import annotations

import pytest
from roles_helper import FixedRandom, Harness, note, unchecked_effects_fail  # noqa: F401

from paxos_edu.codec import MAX_DATAGRAM, MAX_VALUE_BYTES, encode
from paxos_edu.effects import Send
from paxos_edu.errors import UsageError
from paxos_edu.messages import Ack, Group, Heartbeat, Submission, Submit
from paxos_edu.roles import Client

T = 0.1
DUE = T * 1.125  # retry delay with FixedRandom(0.5)
SESSION = 77


def new(id: int = 3, window: int = 4096) -> Harness:
    return Harness(Client(id, session=SESSION, timeout=T, window=window, rng=FixedRandom(0.5)))


def subs(*pairs: tuple[int, str], client: int = 3) -> tuple[Submission, ...]:
    return tuple(Submission(client, SESSION, seq, value) for seq, value in pairs)


def submit(*pairs: tuple[int, str]) -> Send:
    return Send(Group.PROPOSERS, Submit(subs(*pairs)))


def ack(*seqs: int, client: int = 3, session: int = SESSION) -> Ack:
    return Ack(client, session, seqs)


def test_client_numbers_its_values_within_its_session():
    r = new()
    r.call("submit", ["a", "b"], 0.0)
    r.expect_only(submit((0, "a"), (1, "b")))
    r.call("submit", ["a"], 0.0)  # an equal string is a new value
    r.expect_only(submit((2, "a")))


def test_client_packs_many_small_values_into_one_datagram():
    r = new()
    values = [f"value {i}" for i in range(1000)]
    r.call("submit", values, 0.0)
    (msg,) = r.take(Submit)
    assert [s.value for s in msg.submissions] == values
    assert len(encode(msg)) <= MAX_DATAGRAM


def test_client_splits_values_into_datagrams_within_the_byte_budget():
    r = new()
    values = ["v" * 16_000 + str(i) for i in range(5)]  # three fit one datagram, not four
    r.call("submit", values, 0.0)
    first, second = r.take(Submit)
    assert [len(first.submissions), len(second.submissions)] == [3, 2]
    assert [s.seq for s in first.submissions + second.submissions] == list(range(5))
    assert all(len(encode(m)) <= MAX_DATAGRAM for m in (first, second))


def test_the_window_limits_values_in_flight_and_acks_free_it():
    r = new(window=2)
    r.call("submit", ["a", "b", "c", "d", "e"], 0.0)
    r.expect_only(submit((0, "a"), (1, "b")))
    r.feed(Heartbeat(1, 0, 0), now=0.01).expect_nothing()
    r.feed(ack(0), now=0.01).expect_only(submit((2, "c")))
    r.feed(ack(1, 2), now=0.02).expect_only(submit((3, "d"), (4, "e")))
    r.feed(ack(1, 2), now=0.03).expect_nothing()  # a duplicate ack changes nothing


def test_unacknowledged_values_are_sent_again_after_the_timeout():
    r = new()
    r.call("submit", ["a", "b"], 0.0)
    r.expect_only(submit((0, "a"), (1, "b")))
    assert r.role.deadline() == pytest.approx(DUE)
    r.tick(DUE * 0.99).expect_nothing()
    r.tick(DUE).expect_only(note("retry", values=2), submit((0, "a"), (1, "b")))
    r.feed(ack(0), now=DUE + 0.01).expect_nothing()
    r.tick(2 * DUE).expect_only(note("retry", values=1), submit((1, "b")))
    r.feed(ack(1), now=2 * DUE).expect_nothing()
    assert r.role.deadline() is None
    r.tick(10.0).expect_nothing()


def test_the_client_is_done_only_after_close_and_every_ack():
    r = new(window=1)
    assert not r.role.done
    r.call("submit", ["a", "b"], 0.0)
    r.expect_only(submit((0, "a")))
    r.role.close()
    assert not r.role.done
    r.feed(ack(0), now=0.01).expect_only(submit((1, "b")))
    assert not r.role.done  # "b" still in flight
    r.feed(ack(1), now=0.02).expect_nothing()
    assert r.role.done


def test_an_open_client_with_everything_acked_is_not_done():
    r = new()
    r.call("submit", ["a"], 0.0)
    r.expect_only(submit((0, "a")))
    r.feed(ack(0), now=0.01).expect_nothing()
    assert not r.role.done


def test_submitting_after_close_is_a_usage_error():
    r = new()
    r.role.close()
    with pytest.raises(UsageError):
        r.role.submit(["late"], 0.0)


@pytest.mark.parametrize("value", ["two\nlines", "carriage\rreturn", "\n"])
def test_client_rejects_a_value_with_a_newline(value):
    r = new()
    with pytest.raises(UsageError, match="newline"):
        r.role.submit([value], 0.0)
    assert r.role.next_seq == 0


def test_client_rejects_an_oversized_value_counting_utf8_bytes():
    r = new()
    with pytest.raises(UsageError, match="exceeds"):
        r.role.submit(["x" * (MAX_VALUE_BYTES + 1)], 0.0)
    with pytest.raises(UsageError, match="exceeds"):
        r.role.submit(["é" * (MAX_VALUE_BYTES // 2 + 1)], 0.0)  # fewer chars than bytes
    assert r.role.next_seq == 0
    r.call("submit", ["x" * MAX_VALUE_BYTES], 0.0)
    r.expect_only(submit((0, "x" * MAX_VALUE_BYTES)))


def test_acks_for_another_client_or_session_are_ignored():
    r = new()
    r.call("submit", ["a"], 0.0)
    r.expect_only(submit((0, "a")))
    r.feed(ack(0, client=4), ack(0, session=SESSION + 1), now=0.01).expect_nothing()
    assert list(r.role.unacked) == [0]
    r.tick(DUE).expect_only(note("retry"), submit((0, "a")))


def test_an_idle_client_needs_no_tick():
    r = new()
    assert r.role.deadline() is None
    r.tick(1.0).expect_nothing()
