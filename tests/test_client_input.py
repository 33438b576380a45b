"""A client's stdin (client_input.py): lines cut across chunks, CRLF, blank lines, values
over the limit or not UTF-8 reported with their line number, pacing, end of input."""

from __future__ import annotations

import io
import os
import selectors

from paxos_edu.client_input import STDIN_PAUSE, ClientInput, LineSplitter
from paxos_edu.codec import MAX_VALUE_BYTES
from paxos_edu.effects import Send
from paxos_edu.roles import Client


def _client_input(fd=None) -> tuple[ClientInput, io.StringIO]:
    """A ClientInput feeding a fresh client; what it sends is kept in ``.sent``."""
    err = io.StringIO()
    sent: list = []
    rt = ClientInput(fd, Client(1, session=7), apply=sent.extend,
                     complain=lambda text: err.write(text + "\n"))
    rt.sent = sent  # type: ignore[attr-defined]
    return rt, err


def _feed(rt: ClientInput, chunks: list[bytes]) -> list[str]:
    for chunk in chunks:
        rt.feed(chunk)
    rt.feed(b"")
    client = rt.client
    return [sub.value for sub, *_ in client.unacked.values()] + [s.value for s, _ in client.queue]


def test_line_splitter_numbers_lines_across_chunks_and_bounds_long_ones():
    split = LineSplitter(limit=5)
    assert split.feed(b"ab") == ([], [])
    assert split.feed(b"c\nde\n123456") == ([(1, b"abc"), (2, b"de")], [])
    assert split.feed(b"789") == ([], [])
    assert split._partial == b""  # an over-long line is not kept in memory
    assert split.feed(b"0\n\nxy") == ([(4, b"")], [(3, 10)])
    assert split.end() == ([(5, b"xy")], [])
    assert split.end() == ([], [])


def test_stdin_lines_split_across_chunks_crlf_and_a_last_line_without_newline():
    rt, err = _client_input()
    values = _feed(rt, [b"al", b"pha\r\nbe", b"ta\n\n   \ngam", b"ma\r\n", b"delta"])
    assert values == ["alpha", "beta", "gamma", "delta"]
    assert err.getvalue() == ""


def test_over_long_line_spanning_chunks_is_reported_with_its_number():
    rt, err = _client_input()
    big = b"y" * (MAX_VALUE_BYTES + 10)
    values = _feed(rt, [b"one\n" + big[:5000], big[5000:40000 // 3], big[40000 // 3:] + b"\ntwo\n"])
    assert values == ["one", "two"]
    assert err.getvalue().startswith(f"stdin:2: line of {len(big)} bytes exceeds")
    assert rt.rejected == 1


def test_a_value_of_exactly_the_limit_is_accepted_and_bad_utf8_is_reported():
    rt, err = _client_input()
    exact = b"z" * MAX_VALUE_BYTES
    values = _feed(rt, [exact + b"\r\n", b"\xff\xfe\n", b"ok\n"])
    assert values == [exact.decode(), "ok"]
    assert err.getvalue().startswith("stdin:2: not valid UTF-8")


def test_submitted_values_are_counted_and_flushed_to_the_proposers_at_once():
    rt, _ = _client_input()
    rt.feed(b"a\nb\n\nc\n")
    assert rt.submitted == 3 and rt.rejected == 0
    assert rt.sent and all(isinstance(e, Send) for e in rt.sent)


def test_reading_a_pipe_to_its_end_closes_the_client():
    read_end, write_end = os.pipe()
    sel = selectors.DefaultSelector()
    try:
        err = io.StringIO()
        rt = ClientInput(read_end, Client(1, session=7), apply=lambda effects: None,
                         complain=lambda text: err.write(text + "\n"), selector=sel)
        rt.start()
        assert rt.registered and not rt.eof
        assert [key.data for key in sel.get_map().values()] == [rt]
        os.write(write_end, b"x\ny")
        os.close(write_end)
        write_end = -1
        while not rt.eof:
            rt.read()
        assert rt.submitted == 2 and not rt.registered
        assert rt.client.closed
    finally:
        sel.close()
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def test_without_stdin_the_client_is_closed_at_once():
    rt, _ = _client_input(None)
    assert rt.eof
    rt.start()
    assert rt.client.done  # nothing to submit, nothing to wait for


def test_reading_pauses_while_the_clients_queue_is_long():
    read_end, write_end = os.pipe()
    sel = selectors.DefaultSelector()
    try:
        rt = ClientInput(read_end, Client(1, session=7, window=1), apply=lambda effects: None,
                         complain=lambda text: None, selector=sel)
        rt.start()
        rt.feed(b"".join(b"v%d\n" % i for i in range(STDIN_PAUSE + 1)))
        rt.pace()
        assert not rt.registered  # paused: memory stays bounded
        rt.client.queue.clear()
        rt.pace()
        assert rt.registered
    finally:
        sel.close()
        os.close(read_end)
        os.close(write_end)
