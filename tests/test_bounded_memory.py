"""Bounded memory: old votes and decided values leave RAM for an archive file, and every
answer that needs them -- a phase 1 report, a classic promise, compaction, catch-up --
is the same as from a process that kept everything in RAM (one test per rule)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, note, settings
from roles_helper import batch
from sim_cases import assert_every_property, to_json
from test_properties import cases

from paxos_edu.archive import INDEX_EVERY, InstanceArchive
from paxos_edu.effects import Deliver, Persist, Send
from paxos_edu.messages import (
    END,
    CatchUp,
    Decision,
    Heartbeat,
    Phase1A,
    Phase1B,
    Phase2A,
    Phase2B,
)
from paxos_edu.roles import Acceptor, Learner, Proposer
from paxos_edu.roles.acceptor import TRIM_STEP
from paxos_edu.rounds import make_round

R1, R2, R3 = make_round(1, 1), make_round(2, 1), make_round(3, 2)
N = 400  # instances voted in the tests below
KEEP = 8


def value(i: int):
    return batch(f"value-{i}-" + "x" * (i % 50), first_seq=i)


@pytest.fixture
def archive():
    a = InstanceArchive()
    yield a
    a.close()


def voted(acceptor: Acceptor, n: int = N, rnd: int = R1) -> Acceptor:
    acceptor.handle(Phase1A(rnd, 0, True), 0.0)
    for i in range(n):
        acceptor.handle(Phase2A(rnd, i, value(i)), 0.0)
    return acceptor


def report(acceptor: Acceptor, rnd: int, first: int = 0) -> list:
    """Every vote a multi-Paxos prepare from ``first`` collects, page by page."""
    votes, page = [], first
    while True:
        (send,) = [e for e in acceptor.handle(Phase1A(rnd, page, True), 0.0)
                   if isinstance(e, Send)]
        b = send.message
        assert isinstance(b, Phase1B)
        votes.extend(b.accepted)
        if b.upto == END:
            return votes
        page = b.upto


# ---------------------------------------------------------------- the archive file


def test_archive_reads_back_every_record_from_any_instance_in_order(archive):
    for i in range(0, 3 * N, 3):
        archive.append(i, i + 7, i, value(i))
    assert archive.index_entries == -(-N // INDEX_EVERY)  # sparse: one per INDEX_EVERY
    assert archive.get(300) == (307, 300, value(300))
    assert archive.get(301) is None
    got = list(archive.read_from(599))
    assert [r[0] for r in got] == list(range(600, 3 * N, 3))
    assert got[0] == (600, 607, 600, value(600))


def test_archive_refuses_an_instance_out_of_order(archive):
    archive.append(5, 0, 0, value(5))
    with pytest.raises(AssertionError):
        archive.append(5, 0, 0, value(5))


# ---------------------------------------------------------------- acceptor rules


def test_acceptor_keeps_only_recent_votes_in_ram(archive):
    a = Acceptor(1)
    a.use_archive(archive, keep=KEEP)
    voted(a)
    assert len(a.slots) <= KEEP + TRIM_STEP
    assert archive.count == N - len(a.slots)
    assert a.floor > 0


def test_phase1_report_from_the_first_instance_is_the_same_with_an_archive(archive):
    """A proposer in phase 1 recovers exactly what it would from an acceptor that kept
    every vote in RAM (never trim what phase 1 needs: the archive answers)."""
    ram, disk = voted(Acceptor(1)), Acceptor(1)
    disk.use_archive(archive, keep=KEEP)
    voted(disk)
    for first in (0, 1, 150, N - 3):
        assert report(disk, R2 + first, first) == report(ram, R2 + first, first)


def test_a_vote_cast_again_below_the_floor_shadows_the_archived_one(archive):
    a = Acceptor(1)
    a.use_archive(archive, keep=KEEP)
    voted(a)
    newer = batch("recovered-by-a-new-leader")
    a.handle(Phase1A(R3, 0, True), 0.0)
    a.handle(Phase2A(R3, 5, newer), 0.0)
    votes = {v.instance: v for v in report(a, R3 + 1)}
    assert (votes[5].v_rnd, votes[5].v_val) == (R3, newer)
    assert (votes[6].v_rnd, votes[6].v_val) == (R1, value(6))
    assert len(votes) == N


def test_an_archived_instance_is_promised_at_least_its_true_promise(archive):
    a = Acceptor(1)
    a.use_archive(archive, keep=KEEP)
    a.handle(Phase1A(R2, 0, False), 0.0)  # classic: promise R2 for instance 0 alone
    for i in range(N):
        a.handle(Phase2A(R1 if i else R2, i, value(i)), 0.0)
    assert 0 not in a.slots and a.promised(0) >= R2
    # A 2A below that promise is refused even though the slot left RAM.
    (send,) = a.handle(Phase2A(R1, 0, batch("late")), 0.0)
    assert send.message.kind.name == "NACK"


def test_a_classic_prepare_of_an_archived_instance_reports_its_vote(archive):
    a = Acceptor(1)
    a.use_archive(archive, keep=KEEP)
    voted(a)
    (send,) = a.handle(Phase1A(R3, 3, False), 0.0)
    (vote,) = send.message.accepted
    assert (vote.instance, vote.v_rnd, vote.v_val) == (3, R1, value(3))


def test_compaction_entries_include_archived_votes(archive):
    """Compaction rewrites the stable log from state_entries(): archived votes must be in
    it, or a restart would forget them."""
    a = Acceptor(1, durable=True)
    a.use_archive(archive, keep=KEEP)
    voted(a)
    again = Acceptor(1)
    again.restore(a.state_entries())
    assert report(again, R3) == report(voted(Acceptor(1)), R3)


def test_a_restored_acceptor_moves_old_votes_to_its_archive(archive):
    entries = list(voted(Acceptor(1, durable=True)).state_entries())
    a = Acceptor(1)
    a.use_archive(archive, keep=KEEP)
    a.restore(entries)
    assert len(a.slots) <= KEEP + TRIM_STEP
    assert report(a, R3) == report(voted(Acceptor(1)), R3)


# ---------------------------------------------------------------- proposer and learner


def decided_proposer(history=None, n: int = N) -> Proposer:
    p = Proposer(1, acceptor_count=3)
    if history is not None:
        p.use_history(history, keep=KEEP)
    p.handle(Heartbeat(2, make_round(1, 2), 0), 0.0)  # a leader exists: p follows
    for i in range(n):
        for acceptor in (1, 2):
            p.handle(Phase2B(acceptor, R1, i, value(i)), 0.0)
    return p


def catch_up(p: Proposer, first: int, now: float = 10.0) -> list:
    return [e.message for e in p.handle(CatchUp(9, first), now) if isinstance(e, Send)]


def test_proposer_keeps_only_recent_decided_values_in_ram(archive):
    p = decided_proposer(archive)
    assert len(p.ledger.decided) == KEEP
    assert p.ledger.prefix == N and archive.count == N
    assert all(p.ledger.is_decided(i) for i in range(N))


def test_catch_up_of_old_instances_is_served_from_the_history(archive):
    ram, disk = decided_proposer(), decided_proposer(archive)
    for first in (0, 30, N - KEEP - 5, N - 2):
        assert catch_up(disk, first) == catch_up(ram, first)
    assert catch_up(disk, 0)[0] == Decision(0, value(0))


def test_a_learner_started_late_delivers_everything_from_the_first_value(archive):
    p = decided_proposer(archive)
    learner = Learner(3, acceptor_count=3)
    delivered = []
    learner.handle(Heartbeat(1, 0, N), 0.0)  # it hears decisions go up to N
    while learner.next_instance < N:
        for decision in catch_up(p, learner.next_instance):
            delivered += [e.submission for e in learner.handle(decision, 1.0)
                          if isinstance(e, Deliver)]
    assert delivered == [sub for i in range(N) for sub in value(i)]


def test_without_an_archive_everything_stays_in_ram():
    a, p = voted(Acceptor(1)), decided_proposer()
    assert len(a.slots) == N and len(p.ledger.decided) == N
    assert not any(isinstance(e, Persist) for e in a.handle(Phase2A(R1, 0, value(0)), 0.0))


def test_storage_releases_recovered_entries_but_keeps_their_count(tmp_path):
    from paxos_edu.effects import Voted
    from paxos_edu.storage import AcceptorStorage

    first = AcceptorStorage(tmp_path, 1)
    for i in range(10):
        first.append(Voted(i, R1, value(i)))
    first.commit()
    first.close()
    again = AcceptorStorage(tmp_path, 1)
    assert len(again.recovery.entries) == 10
    again.release_recovery()
    assert again.recovery.entries == [] and again.counters()["recovered_entries"] == 10
    again.close()


def test_compaction_writes_the_state_record_by_record(tmp_path):
    """Compaction streams: the state (archived votes included) may be larger than RAM, so
    records reach the file while the entries are still being read, not in one blob."""
    from paxos_edu.effects import Voted
    from paxos_edu.storage import SNAPSHOT_RECORD, AcceptorStorage, read_entries

    store = AcceptorStorage(tmp_path, 1)
    big = batch("x" * 60_000)
    seen_sizes = []

    def entries():
        for i in range(3 * SNAPSHOT_RECORD // 60_000):
            seen_sizes.append((store.dir / "log.new").stat().st_size)
            yield Voted(i, R1, big)

    store.compact(entries())
    assert max(seen_sizes) > SNAPSHOT_RECORD  # records were written before the last entry
    assert len(read_entries(store.dir / "log").entries) == len(seen_sizes)
    store.close()


# ---------------------------------------------------------------- generated schedules


class _Archived:
    """Patch the simulator so every acceptor and proposer moves all it can to an archive
    (keep 1 instance, trim after every vote): the strictest form of each rule above."""

    def __init__(self) -> None:
        self.archives: list[InstanceArchive] = []

    def __enter__(self) -> _Archived:
        import paxos_edu.roles.acceptor as acceptor_module
        import paxos_edu.sim as sim_module

        real = sim_module.make_role

        def make_role(role, *args, **kwargs):
            obj = real(role, *args, **kwargs)
            if role in ("acceptor", "proposer"):
                archive = InstanceArchive()
                self.archives.append(archive)
                if role == "acceptor":
                    obj.use_archive(archive, keep=1)
                else:
                    obj.use_history(archive, keep=1)
            return obj

        self._patches = [pytest.MonkeyPatch()]
        self._patches[0].setattr(sim_module, "make_role", make_role)
        self._patches[0].setattr(acceptor_module, "TRIM_STEP", 1)
        return self

    def __exit__(self, *exc: object) -> None:
        for patch in self._patches:
            patch.undo()
        for archive in self.archives:
            archive.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_generated_runs_with_everything_archived_keep_every_property(case):
    """Faulty runs (loss, duplicates, crashes, acceptor restarts from storage, late
    learners, leader changes) with acceptors and proposers keeping one instance in RAM:
    phase 1 recovers from archives, learners catch up from histories, and every property
    of the course holds -- safety and, once the network heals, completeness."""
    with _Archived() as archived:
        note(f"case: {to_json(case)}")
        assert_every_property(case)
    assert any(a.count for a in archived.archives), "nothing was archived: the test is idle"
