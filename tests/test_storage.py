"""Acceptor storage: checksummed records, group commit, torn tails, compaction, failures."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap

import pytest
from roles_helper import batch

from paxos_edu.effects import Promised, Voted
from paxos_edu.messages import Submission
from paxos_edu.roles import Acceptor
from paxos_edu.storage import (
    FILE_MAGIC,
    AcceptorStorage,
    StorageError,
    decode_entries,
    encode_entry,
    read_entries,
)

A, B = batch("a"), batch("b", "c", first_seq=1)
ENTRIES = [Promised(7), Voted(0, 7, A), Promised(9, 3), Voted(1, 9, B), Voted(2, 9, ())]


def opened(tmp_path, **kwargs) -> AcceptorStorage:
    return AcceptorStorage(tmp_path, 1, **kwargs)


def test_entries_round_trip_through_their_bytes():
    big = tuple(Submission(65535, 2**32 - 1, 2**40 + k, f"välue {k} " * 3) for k in range(300))
    entries = [*ENTRIES, Voted(2**62, 2**62, big)]
    assert decode_entries(b"".join(map(encode_entry, entries))) == entries


def test_a_commit_is_one_record_and_one_fsync_and_reopens_to_the_same_entries(tmp_path):
    store = opened(tmp_path)
    before = store.fsyncs
    for entry in ENTRIES:
        store.append(entry)
    assert read_entries(store.path).entries == []  # appended is not written
    store.commit()
    assert store.fsyncs == before + 1 and store.commits == 1
    assert read_entries(store.path).records == 1
    store.close()
    again = opened(tmp_path)
    assert again.recovery.entries == ENTRIES and again.recovery.cut_bytes == 0
    assert (tmp_path / "acceptor1" / "log").read_bytes().startswith(FILE_MAGIC)


def test_a_commit_with_nothing_appended_writes_nothing(tmp_path):
    store = opened(tmp_path)
    fsyncs = store.fsyncs
    assert store.commit() == 0 and store.fsyncs == fsyncs


def _log_with_records(tmp_path, count: int) -> tuple[AcceptorStorage, list[int]]:
    store = opened(tmp_path)
    ends = [store.size]
    for k in range(count):
        store.append(Voted(k, 5, batch(f"v{k}", first_seq=k)))
        store.commit()
        ends.append(store.size)
    store.close()
    return store, ends


def test_every_truncation_recovers_exactly_the_whole_records_before_the_cut(tmp_path):
    store, ends = _log_with_records(tmp_path, 4)
    data = store.path.read_bytes()
    for cut in range(len(data) + 1):
        store.path.write_bytes(data[:cut])
        whole = sum(1 for end in ends[1:] if end <= cut)
        reopened = opened(tmp_path)
        assert [e.instance for e in reopened.recovery.entries] == list(range(whole)), cut
        expected_size = ends[whole] if cut >= len(FILE_MAGIC) else len(FILE_MAGIC)
        assert reopened.size == expected_size == store.path.stat().st_size  # tail cut
        reopened.close()


def test_a_corrupt_last_record_is_cut_never_misread(tmp_path):
    store, ends = _log_with_records(tmp_path, 3)
    data = bytearray(store.path.read_bytes())
    rng = random.Random(1)
    for _ in range(50):
        damaged = bytearray(data)
        damaged[rng.randrange(ends[2], ends[3])] ^= 1 << rng.randrange(8)
        store.path.write_bytes(damaged)
        reopened = opened(tmp_path)
        assert [e.instance for e in reopened.recovery.entries] == [0, 1]
        assert reopened.recovery.cut_bytes == ends[3] - ends[2]
        reopened.close()


def test_damage_before_whole_records_is_refused_not_cut(tmp_path):
    store, ends = _log_with_records(tmp_path, 3)
    data = bytearray(store.path.read_bytes())
    data[ends[1] + 14] ^= 0xFF  # inside the second record's payload
    store.path.write_bytes(data)
    with pytest.raises(StorageError, match="damaged record at byte .* not a torn tail"):
        opened(tmp_path)
    assert store.path.read_bytes() == data  # nothing cut


def test_appending_after_a_cut_tail_continues_the_log(tmp_path):
    store, ends = _log_with_records(tmp_path, 2)
    store.path.write_bytes(store.path.read_bytes()[:-3])
    again = opened(tmp_path)
    again.append(Promised(11))
    again.commit()
    again.close()
    assert [type(e).__name__ for e in read_entries(store.path).entries] == ["Voted", "Promised"]


def test_compaction_keeps_the_state_and_shrinks_the_log(tmp_path):
    store = opened(tmp_path, compact_bytes=2000)
    acceptor = Acceptor(1, durable=True)
    for k in range(200):
        for entry in (Promised(k + 1), Voted(k % 5, k + 1, batch(f"v{k}", first_seq=k))):
            store.append(entry)
            acceptor.restore([entry])
        store.commit()
        if store.should_compact():
            store.compact(acceptor.state_entries())
    assert store.compactions >= 1
    assert store.size < 2000 * 2 + 200
    store.close()
    again = opened(tmp_path)
    restored = Acceptor(1)
    restored.restore(again.recovery.entries)
    assert (restored.rnd, restored.max_slot_rnd, restored.slots) == (
        acceptor.rnd, acceptor.max_slot_rnd, acceptor.slots)
    assert not (tmp_path / "acceptor1" / "log.new").exists()


def test_compaction_needs_the_log_to_double(tmp_path):
    store = opened(tmp_path, compact_bytes=100)
    store.append(Voted(0, 1, batch("x" * 200)))
    store.commit()
    assert store.should_compact()
    store.compact([Voted(0, 1, batch("x" * 200))])
    assert not store.should_compact()  # same size as right after compacting


def test_a_second_process_with_the_same_id_is_refused(tmp_path):
    first = opened(tmp_path)
    with pytest.raises(StorageError, match="in use by another acceptor"):
        opened(tmp_path)
    first.close()
    opened(tmp_path).close()  # released on close (and by the kernel on kill -9)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_directory_is_a_clear_error(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(StorageError, match="not writable"):
            opened(tmp_path)
    finally:
        tmp_path.chmod(0o700)


def test_a_storage_path_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="cannot create the storage directory"):
        AcceptorStorage(tmp_path / "file", 1)


def test_a_full_disk_fails_the_commit_and_the_storage_stays_failed(tmp_path, monkeypatch):
    store = opened(tmp_path)
    store.append(Promised(3))

    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(StorageError, match=r"disk is full \(ENOSPC\).*never sends"):
        store.commit()
    monkeypatch.undo()
    store.append(Promised(4))
    with pytest.raises(StorageError, match="already failed"):
        store.commit()


def test_a_failed_fsync_fails_the_commit(tmp_path, monkeypatch):
    store = opened(tmp_path)
    store.append(Promised(3))
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(StorageError, match="I/O error"):
        store.commit()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_enospc_from_a_real_device_is_reported(tmp_path):
    store = opened(tmp_path)
    os.close(store._fd)
    store._fd = os.open("/dev/full", os.O_WRONLY)
    store.append(Promised(1))
    with pytest.raises(StorageError, match="ENOSPC"):
        store.commit()


def test_a_file_that_is_not_a_log_is_refused(tmp_path):
    (tmp_path / "acceptor1").mkdir()
    (tmp_path / "acceptor1" / "log").write_bytes(b"hello world, not a log")
    with pytest.raises(StorageError, match="not an acceptor log"):
        opened(tmp_path)


def test_sigkill_in_the_middle_of_writing_leaves_a_log_that_recovers(tmp_path):
    """A real SIGKILL while a child commits big records as fast as it can: whatever the
    moment, reopening cuts at most the record being written and reads the rest back."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(os.getcwd())!r})
        from paxos_edu.effects import Voted
        from paxos_edu.messages import Submission
        from paxos_edu.storage import AcceptorStorage
        store = AcceptorStorage({str(tmp_path)!r}, 1, fsync=False)
        k = 0
        while True:
            value = tuple(Submission(1, 1, k * 100 + j, "x" * 2000) for j in range(100))
            store.append(Voted(k, 1, value))
            store.commit()
            if k == 3:
                print("ready", flush=True)
            k += 1
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline() == b"ready\n"
    finally:
        child.kill()
        child.wait()
    size = (tmp_path / "acceptor1" / "log").stat().st_size
    reopened = opened(tmp_path)
    instances = [e.instance for e in reopened.recovery.entries]
    assert instances == list(range(len(instances))) and len(instances) >= 4
    assert all(len(e.value) == 100 for e in reopened.recovery.entries)
    assert reopened.size == size - reopened.recovery.cut_bytes
