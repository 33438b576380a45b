"""A hostile network on loopback: capture real datagrams, spray garbage, replay, duplicate.

Students on one LAN all use the course's default groups and ports, and anyone on a
multicast group can send anything to it. paxos_edu must keep every guarantee and never
crash whatever arrives; this module makes that testable on one machine:

* :class:`Recorder` listens on a cluster's four groups while it runs and keeps a bounded,
  random sample of the real datagrams (``(group, bytes)``). With ``duplicate=p`` it also
  re-sends each datagram it hears to the same group with probability ``p`` -- a network
  that duplicates datagrams, which the runtime cannot do by itself.
* :func:`spray` (or :class:`Sprayer` in a background thread) sends, at a fixed rate and
  for a bounded time and count, to all four groups: random bytes of random lengths up to
  65 000, datagrams with a valid header and a random body, well-formed messages that no
  process sent (edge-case rounds and instances, made-up values), mutated copies of
  captured datagrams (bit flips, truncation, extension, header corruption, overwritten
  fields) and exact replays.

Without a ``secret`` a mutated copy fails the checksum and random bytes fail the magic or
the checksum; exact replays are duplicates, normal Paxos traffic: under mutated copies,
replays and random bytes every guarantee holds. A *forged* datagram -- well-formed, with a
correct checksum -- decodes and can break safety (a made-up 2B makes learners learn a
value nobody proposed), so with forgeries the guarantee is only that no process dies or
hangs. With a secret, only exact replays pass authentication: every check passes.

Network rules
-------------
Every datagram goes to a multicast group through a :class:`~paxos_edu.transport.Transport`
with ``IP_MULTICAST_IF`` 127.0.0.1 and TTL 0: it never leaves this host. The interface and
TTL cannot be changed here, on purpose. Load is bounded: :func:`spray` needs a finite
duration (at most :data:`MAX_SECONDS`) and stops after ``max_datagrams``; a recorder's
duplicates are capped by ``max_duplicates``.

Everything random comes from a ``random.Random(seed)``; the seed is recorded in the stats,
so a spray can be replayed (timing aside).
"""

from __future__ import annotations

import random
import select
import socket
import struct
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Optional, Union

from crc32c import crc32c

from .codec import HEADER_SIZE, MAGIC, MAX_DATAGRAM, VERSION, Codec
from .errors import UsageError
from .messages import (
    END,
    Accepted,
    Ack,
    Batch,
    CatchUp,
    Decision,
    Group,
    Heartbeat,
    Kind,
    Message,
    Nack,
    Phase1A,
    Phase1B,
    Phase2A,
    Phase2B,
    Submission,
    Submit,
)
from .transport import LOOPBACK, Transport

__all__ = [
    "MAX_SECONDS",
    "MUTATIONS",
    "SPRAY_KINDS",
    "Recorder",
    "SprayStats",
    "Sprayer",
    "mutate",
    "random_datagram",
    "spray",
    "wellformed_message",
]

MAX_SECONDS = 600.0
"""Longest spray allowed: load always stops by itself."""

SPRAY_KINDS = ("random", "forged", "wellformed", "mutated", "replay")
"""What a sprayed datagram is: random bytes; a valid header with a random body; a
well-formed but made-up message (no secret) with hostile field values; a mutated copy of a
captured datagram; an exact copy of one."""

DEFAULT_MIX: dict[str, float] = {
    "random": 0.25, "forged": 0.15, "wellformed": 0.1, "mutated": 0.3, "replay": 0.2,
}
"""Default weights of :data:`SPRAY_KINDS` (mutated and replay need samples; without any,
their weight goes to random and forged)."""

MUTATIONS = ("bitflip", "truncate", "extend", "header", "field", "splice")
"""How :func:`mutate` damages a datagram."""

Sample = Union[bytes, tuple[Group, bytes]]

_INTERESTING_U64 = (0, 1, END - 1, END, END + 1, (1 << 64) - 1, 1 << 32, (1 << 32) - 1)
_U64 = struct.Struct("!Q")


# ---------------------------------------------------------------------- making datagrams


def random_length(rng: random.Random, max_size: int = MAX_DATAGRAM) -> int:
    """A datagram length: mostly small (where parsers have edges), sometimes huge."""
    pick = rng.random()
    if pick < 0.5:
        return rng.randint(0, min(64, max_size))
    if pick < 0.8:
        return rng.randint(0, min(1500, max_size))
    return rng.randint(0, max_size)


def random_datagram(rng: random.Random, max_size: int = MAX_DATAGRAM) -> bytes:
    """Random bytes of a random length up to ``max_size``."""
    return rng.randbytes(random_length(rng, max_size))


def forged_datagram(rng: random.Random, max_size: int = MAX_DATAGRAM) -> bytes:
    """A valid header (magic, version, a real or unknown kind, a made-up sender), a random
    body and a *correct* checksum -- a neighbour's broken implementation: reaches the
    per-kind decoders instead of stopping at the magic or the checksum."""
    kind = rng.choice([*map(int, Kind), 0, 255]) if rng.random() < 0.95 else rng.randrange(256)
    role = rng.choice((0, 1, 2, 3, 255)) if rng.random() < 0.95 else rng.randrange(256)
    header = struct.pack("!2sBBBHQQ", MAGIC, VERSION, kind, role, rng.randrange(1 << 16),
                         rng.getrandbits(64), rng.getrandbits(64))
    body = rng.randbytes(random_length(rng, max(0, max_size - HEADER_SIZE - 4)))
    return header + body + struct.pack("!I", crc32c(header + body))


def _number(rng: random.Random) -> int:
    """A round or instance number: small, random or at the edge of the range."""
    pick = rng.random()
    if pick < 0.4:
        return rng.randrange(64)
    if pick < 0.7:
        return rng.choice((END, END - 1, END // 2, 1 << 32, (1 << 32) - 1))
    return rng.randrange(END + 1)


def _batch(rng: random.Random) -> Batch:
    return tuple(
        Submission(rng.choice((0, 1, 2, 65535)), rng.getrandbits(32), rng.randrange(1 << 32),
                   f"forged-{rng.getrandbits(32):08x}")
        for _ in range(rng.randrange(4))
    )


def wellformed_message(rng: random.Random) -> Message:
    """A message that decodes (without a secret) but that no real process sent: ids,
    rounds and instances small, random or at the edge (``END``), made-up values."""
    pid = rng.choice((0, 1, 2, 3, 4, 65535))
    n = _number
    kind = rng.choice(list(Kind))
    if kind is Kind.SUBMIT:
        return Submit(_batch(rng) or (Submission(pid, 1, 1, "forged"),))
    if kind is Kind.ACK:
        return Ack(pid, rng.getrandbits(32), tuple(rng.randrange(1 << 32) for _ in range(3)))
    if kind is Kind.PHASE1A:
        return Phase1A(n(rng), n(rng), rng.random() < 0.5)
    if kind is Kind.PHASE1B:
        votes = tuple(Accepted(n(rng), n(rng), _batch(rng)) for _ in range(rng.randrange(3)))
        return Phase1B(pid, n(rng), n(rng), rng.choice((END, n(rng))), votes)
    if kind is Kind.NACK:
        return Nack(pid, n(rng), n(rng), n(rng))
    if kind is Kind.PHASE2A:
        return Phase2A(n(rng), n(rng), _batch(rng))
    if kind is Kind.PHASE2B:
        return Phase2B(pid, n(rng), n(rng), _batch(rng))
    if kind is Kind.DECISION:
        return Decision(n(rng), _batch(rng))
    if kind is Kind.CATCHUP:
        return CatchUp(pid, n(rng))
    return Heartbeat(pid, n(rng), n(rng))


_PLAIN = Codec()


def wellformed_datagram(rng: random.Random) -> bytes:
    """:func:`wellformed_message` encoded without a secret."""
    return _PLAIN.encode(wellformed_message(rng))


def mutate(data: bytes, rng: random.Random, how: Optional[str] = None,
           max_size: int = MAX_DATAGRAM) -> bytes:
    """A damaged copy of ``data`` (``how`` one of :data:`MUTATIONS`, random if None).

    * ``bitflip``: 1 to 8 random bits flipped;
    * ``truncate``: cut at a random length (possibly empty);
    * ``extend``: 1 to 64 random bytes appended (or a big random tail, rarely);
    * ``header``: magic, version or kind byte replaced;
    * ``field``: 8 bytes at a random offset overwritten with an edge value (0, END,
      2**64 - 1, ...) -- rounds, instances and counts live in such fields;
    * ``splice``: a random range replaced by random bytes of another length.
    """
    how = how or rng.choice(MUTATIONS)
    raw = bytearray(data)
    if how == "bitflip":
        if raw:
            for _ in range(rng.randint(1, 8)):
                bit = rng.randrange(len(raw) * 8)
                raw[bit // 8] ^= 1 << (bit % 8)
    elif how == "truncate":
        del raw[rng.randint(0, max(0, len(raw) - 1)):]
    elif how == "extend":
        tail = rng.randint(1, 64) if rng.random() < 0.9 else rng.randint(1, max_size)
        raw += rng.randbytes(tail)
    elif how == "header":
        position = rng.randrange(4)
        if position < len(raw):
            raw[position] = rng.randrange(256)
        else:
            raw += rng.randbytes(4 - len(raw))
    elif how == "field":
        if len(raw) >= 8:
            offset = rng.randrange(len(raw) - 7)
            raw[offset : offset + 8] = _U64.pack(rng.choice(_INTERESTING_U64))
    elif how == "splice":
        start = rng.randint(0, len(raw))
        stop = rng.randint(start, min(len(raw), start + 32))
        raw[start:stop] = rng.randbytes(rng.randint(0, 32))
    else:
        raise UsageError(f"unknown mutation {how!r}; expected one of {', '.join(MUTATIONS)}")
    return bytes(raw[:max_size])


# ---------------------------------------------------------------------- spraying


@dataclass
class SprayStats:
    """What a spray sent.

    Attributes:
        seed: seed of the spray's generator (replays the same datagrams).
        sent: datagrams the kernel took.
        send_failed: datagrams dropped in the sender (full buffer).
        bytes: total size of the datagrams sent.
        by_kind: sent datagrams per kind of :data:`SPRAY_KINDS`.
        by_group: sent datagrams per group role name.
        seconds: how long the spray ran.
    """

    seed: Optional[int]
    sent: int = 0
    send_failed: int = 0
    bytes: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPRAY_KINDS, 0))
    by_group: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Datagrams sent per second."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in self.by_kind.items())
        return (f"sprayed {self.sent} datagrams ({self.bytes / 1e6:.1f} MB) in "
                f"{self.seconds:.2f} s = {self.rate:.0f}/s [{kinds}]; "
                f"{self.send_failed} dropped by the sender; seed {self.seed}")


def _normalise_samples(samples: Iterable[Sample]) -> list[tuple[Optional[Group], bytes]]:
    out: list[tuple[Optional[Group], bytes]] = []
    for sample in samples:
        if isinstance(sample, (bytes, bytearray, memoryview)):
            out.append((None, bytes(sample)))
        else:
            group, data = sample
            out.append((Group(group), bytes(data)))
    return out


def _weights(mix: Optional[Mapping[str, float]], have_samples: bool) -> list[float]:
    mix = dict(DEFAULT_MIX if mix is None else mix)
    unknown = set(mix) - set(SPRAY_KINDS)
    if unknown:
        raise UsageError(f"unknown spray kinds {sorted(unknown)}; expected {SPRAY_KINDS}")
    weights = [float(mix.get(kind, 0.0)) for kind in SPRAY_KINDS]
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise UsageError(f"spray mix needs non-negative weights, some positive: {mix}")
    if not have_samples:
        if sum(weights[:3]) <= 0:
            raise UsageError("a spray of only mutated copies or replays needs samples")
        weights[3] = weights[4] = 0.0
    return weights


def spray(
    addresses: Mapping[Group, tuple[str, int]],
    *,
    rate: float = 1000.0,
    seconds: float = 1.0,
    max_datagrams: Optional[int] = None,
    seed: Optional[int] = None,
    samples: Iterable[Sample] = (),
    mix: Optional[Mapping[str, float]] = None,
    groups: Optional[Iterable[Group]] = None,
    max_size: int = MAX_DATAGRAM,
    stop: Optional[threading.Event] = None,
) -> SprayStats:
    """Send hostile datagrams to a cluster's groups at ``rate`` per second, on loopback.

    Args:
        addresses: ``(group_ip, port)`` of each group (e.g. ``config.addresses``).
        rate: datagrams per second to aim for (sent in small bursts every millisecond).
        seconds: how long to spray; finite, at most :data:`MAX_SECONDS`.
        max_datagrams: stop after this many (default: ``rate * seconds``).
        seed: seed of the generator (None: a random one, recorded in the stats).
        samples: captured datagrams, ``bytes`` or ``(group, bytes)`` (from
            :attr:`Recorder.samples`), to mutate and replay. A replay goes to the group
            the sample was captured on; everything else to a random group.
        mix: weights of :data:`SPRAY_KINDS` (default :data:`DEFAULT_MIX`).
        groups: groups to spray (default: all four in ``addresses``).
        max_size: largest datagram (at most ``MAX_DATAGRAM``, 65 000).
        stop: an event that ends the spray early when set.

    Returns:
        A :class:`SprayStats`.
    """
    if not 0 < rate <= 1_000_000:
        raise UsageError(f"rate must be in (0, 1e6] datagrams/s, not {rate!r}")
    if not 0 < seconds <= MAX_SECONDS:
        raise UsageError(f"seconds must be in (0, {MAX_SECONDS:g}], not {seconds!r}")
    if not 0 <= max_size <= MAX_DATAGRAM:
        raise UsageError(f"max_size must be 0 to {MAX_DATAGRAM}, not {max_size!r}")
    limit = int(rate * seconds) if max_datagrams is None else int(max_datagrams)
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 63)
    rng = random.Random(seed)
    pool = _normalise_samples(samples)
    weights = _weights(mix, bool(pool))
    targets = list(dict.fromkeys(Group(g) for g in (groups if groups is not None else addresses)))
    stats = SprayStats(seed=seed, by_group={g.role: 0 for g in targets})
    kinds = SPRAY_KINDS
    # Sender only (no group joined); interface and TTL fixed: nothing leaves this host.
    with Transport(addresses, (), interface=LOOPBACK, ttl=0, send_wait=0.0) as transport:
        start = time.monotonic()
        end = start + seconds
        while stats.sent + stats.send_failed < limit:
            now = time.monotonic()
            if now >= end or (stop is not None and stop.is_set()):
                break
            due = min(int((now - start) * rate) + 1, limit) - stats.sent - stats.send_failed
            for _ in range(min(due, 256)):
                kind = rng.choices(kinds, weights)[0]
                group = rng.choice(targets)
                if kind == "random":
                    data = random_datagram(rng, max_size)
                elif kind == "forged":
                    data = forged_datagram(rng, max_size)
                elif kind == "wellformed":
                    data = wellformed_datagram(rng)
                else:
                    origin, sample = rng.choice(pool)
                    if kind == "mutated":
                        data = mutate(sample, rng, max_size=max_size)
                    else:
                        data = sample[:max_size]
                        if origin is not None and origin in transport.addresses:
                            group = origin
                if transport.send(group, data):
                    stats.sent += 1
                    stats.bytes += len(data)
                    stats.by_kind[kind] += 1
                    stats.by_group[group.role] = stats.by_group.get(group.role, 0) + 1
                else:
                    stats.send_failed += 1
            if due <= 256:
                # Sleep until the next datagram is due (at most 1 ms: stays responsive).
                wait = start + (stats.sent + stats.send_failed) / rate - time.monotonic()
                if wait > 0:
                    time.sleep(min(wait, 0.001, max(0.0, end - time.monotonic())))
        stats.seconds = time.monotonic() - start
    return stats


class Sprayer:
    """:func:`spray` in a background thread, for use while a cluster runs.

    ``Sprayer(addresses, **spray_options)`` takes the arguments of :func:`spray`. Use it
    as a context manager (the spray stops on exit) or call :meth:`start` and :meth:`join`.
    An exception raised by the spray is raised again by :meth:`join`.
    """

    def __init__(self, addresses: Mapping[Group, tuple[str, int]], **options: object) -> None:
        self._addresses = dict(addresses)
        self._options = options
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._error: Optional[BaseException] = None
        self.stats: Optional[SprayStats] = None

    def start(self) -> Sprayer:
        """Start spraying (returns self)."""
        if self._thread is not None:
            raise UsageError("this Sprayer was already started")

        def target() -> None:
            try:
                self.stats = spray(self._addresses, stop=self._stop, **self._options)
            except BaseException as exc:  # noqa: BLE001 -- handed to join()
                self._error = exc

        self._thread = threading.Thread(target=target, name="paxos_edu-sprayer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the spray to end now."""
        self._stop.set()

    def join(self, timeout: Optional[float] = None) -> SprayStats:
        """Wait for the spray to end; its stats (raises what the spray raised)."""
        if self._thread is None:
            raise UsageError("this Sprayer was never started")
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the spray did not end in time")
        if self._error is not None:
            raise self._error
        assert self.stats is not None
        return self.stats

    def __enter__(self) -> Sprayer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join(5.0)


# ---------------------------------------------------------------------- recording


class Recorder:
    """Listen on a cluster's groups in a background thread; keep a sample of what flies.

    Args:
        addresses: ``(group_ip, port)`` of each group.
        groups: groups to listen on (default: all in ``addresses``).
        limit: most samples kept (reservoir sampling: a uniform sample of everything
            heard, memory bounded by ``limit`` datagrams).
        seed: seed of the sampling and duplication choices.
        duplicate: probability of re-sending each datagram heard to its group at once
            (0: listen only). The recorder ignores the copies it sends itself.
        max_duplicates: most datagrams re-sent in total (a bound on the load).

    Attributes:
        heard: datagrams heard per group (own duplicates excluded).
        duplicated: datagrams re-sent.
    """

    def __init__(
        self,
        addresses: Mapping[Group, tuple[str, int]],
        *,
        groups: Optional[Iterable[Group]] = None,
        limit: int = 500,
        seed: Optional[int] = None,
        duplicate: float = 0.0,
        max_duplicates: int = 100_000,
    ) -> None:
        if not 0.0 <= duplicate <= 1.0:
            raise UsageError(f"duplicate must be a probability in [0, 1], not {duplicate!r}")
        if limit < 0 or max_duplicates < 0:
            raise UsageError("limit and max_duplicates must be >= 0")
        self.addresses = dict(addresses)
        self.groups = list(dict.fromkeys(Group(g) for g in (groups or self.addresses)))
        self.limit = limit
        self.duplicate = duplicate
        self.max_duplicates = max_duplicates
        self.heard: dict[Group, int] = dict.fromkeys(self.groups, 0)
        self.duplicated = 0
        self._rng = random.Random(seed)
        self._samples: list[tuple[Group, bytes]] = []
        self._seen = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._transport: Optional[Transport] = None
        self._error: Optional[BaseException] = None

    @property
    def samples(self) -> list[tuple[Group, bytes]]:
        """A snapshot of the sampled datagrams, ``(group, bytes)``."""
        with self._lock:
            return list(self._samples)

    @property
    def total(self) -> int:
        """Datagrams heard on all groups."""
        return sum(self.heard.values())

    def start(self) -> Recorder:
        """Join the groups and start listening (returns self)."""
        if self._transport is not None:
            raise UsageError("this Recorder was already started")
        self._transport = Transport(self.addresses, self.groups, interface=LOOPBACK, ttl=0,
                                    send_wait=0.0)
        self._thread = threading.Thread(target=self._run, name="paxos_edu-recorder",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening and leave the groups (safe to call twice)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        if self._transport is not None:
            self._transport.close()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self) -> None:
        transport = self._transport
        assert transport is not None and transport.sender is not None
        own = transport.sender.getsockname()
        channels = transport.channels()
        sockets = [sock for sock, _ in channels]
        group_of = {sock: groups[0] for sock, groups in channels}
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select(sockets, [], [], 0.05)
                for sock in readable:
                    self._drain(sock, group_of[sock], own, transport)
        except BaseException as exc:  # noqa: BLE001 -- raised again by close()
            if not self._stop.is_set():
                self._error = exc

    def _drain(self, sock: socket.socket, group: Group, own: tuple[str, int],
               transport: Transport) -> None:
        rng = self._rng
        for _ in range(256):
            try:
                data, source = sock.recvfrom(65_536)
            except (BlockingIOError, InterruptedError):
                return
            if source == own:
                continue  # our own duplicate, looped back
            self.heard[group] += 1
            self._seen += 1
            with self._lock:
                if len(self._samples) < self.limit:
                    self._samples.append((group, data))
                elif self.limit:
                    slot = rng.randrange(self._seen)
                    if slot < self.limit:
                        self._samples[slot] = (group, data)
            if (self.duplicate and self.duplicated < self.max_duplicates
                    and rng.random() < self.duplicate):
                if transport.send(group, data):
                    self.duplicated += 1

