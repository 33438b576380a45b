"""Wire format: golden bytes both ways, round-trip properties, authentication and fuzzing."""

from __future__ import annotations

import struct

import crc32c
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from paxos_edu.codec import (
    HEADER_SIZE,
    MAX_BATCH_BYTES,
    MAX_DATAGRAM,
    TAG_SIZE,
    Codec,
    decode,
    encode,
    peek_header,
    submission_size,
    unpack,
)
from paxos_edu.errors import DecodeError, UsageError
from paxos_edu.messages import (
    END,
    NOOP,
    Accepted,
    Ack,
    CatchUp,
    Decision,
    Header,
    Heartbeat,
    Hello,
    Kind,
    Nack,
    Phase1A,
    Phase1B,
    Phase2A,
    Phase2B,
    Submission,
    Submit,
)

# Raw round numbers: the wire carries a round as an opaque 64-bit integer.
R1 = 0x00010002
R2 = 0x00020003
HELLO = Submission(1, 7, 1, "hello")

# ---------------------------------------------------------------- golden bytes
#
# One table feeds both the encoder and the decoder tests. The bodies are written out by
# hand from the format in codec.py's docstring: fixed fields in network order; a batch is
# n (I), text length (I), n client ids (H), n sessions (I), n seqs (I), then the values
# joined by "\n" in UTF-8. ``_datagram`` puts the header of the anonymous sender in front
# ("PX" 50 58, version 02, kind, role ff, id 0000, incarnation 0, sequence 0) and the
# CRC-32C behind; FULL_GOLDEN spells whole datagrams out, checksum included.

ANONYMOUS_HEADER = "ff 0000 0000000000000000 0000000000000000"


def _sealed(header_hex: str, body_hex: str) -> bytes:
    """Header and body as written, followed by their CRC-32C (big-endian)."""
    data = bytes.fromhex(header_hex + body_hex)
    return data + struct.pack("!I", crc32c.crc32c(data))


def _datagram(kind: int, body_hex: str, sender: str = ANONYMOUS_HEADER) -> bytes:
    return _sealed(f"5058 02 {kind:02x} {sender} ", body_hex)

GOLDEN: list[tuple[str, object, str]] = [
    (
        "submit_one",
        Submit((HELLO,)),
        "00000001 00000005  0001  00000007  00000001  68656c6c6f",
    ),
    (
        "submit_non_ascii",
        Submit((Submission(2, 0xDEADBEEF, 10, "héllo"), Submission(3, 1, 11, "€"))),
        "00000002 0000000a  0002 0003  deadbeef 00000001  0000000a 0000000b"
        "  68 c3a9 6c6c6f 0a e282ac",
    ),
    (
        "submit_empty_value",
        Submit((Submission(65535, 0xFFFFFFFF, 0, ""),)),
        "00000001 00000000  ffff  ffffffff  00000000",
    ),
    (
        "ack",
        Ack(1, 7, (1, 2, 3)),
        "0001 00000007 00000003  00000001 00000002 00000003",
    ),
    (
        "ack_empty",
        Ack(1, 7, ()),
        "0001 00000007 00000000",
    ),
    (
        "phase1a_onward",
        Phase1A(R1, 0, True),
        "0000000000010002 0000000000000000 01",
    ),
    (
        "phase1a_one_instance",
        Phase1A(R2, 5, False),
        "0000000000020003 0000000000000005 00",
    ),
    (
        "phase1b_entries_end",
        Phase1B(
            3,
            R2,
            0,
            END,
            (
                Accepted(0, R1, (Submission(1, 7, 1, "a"),)),
                Accepted(1, R1, NOOP),
            ),
        ),
        "0003 0000000000020003 0000000000000000 7fffffffffffffff 00000002"
        "  0000000000000000 0000000000010002  00000001 00000001 0001 00000007 00000001 61"
        "  0000000000000001 0000000000010002  00000000 00000000",
    ),
    (
        "phase1b_empty_page",
        Phase1B(1, R1, 10, 20, ()),
        "0001 0000000000010002 000000000000000a 0000000000000014 00000000",
    ),
    (
        "nack",
        Nack(1, R1, 4, R2),
        "0001 0000000000010002 0000000000000004 0000000000020003",
    ),
    (
        "phase2a",
        Phase2A(R1, 5, (HELLO,)),
        "0000000000010002 0000000000000005"
        "  00000001 00000005 0001 00000007 00000001 68656c6c6f",
    ),
    (
        "phase2a_noop",
        Phase2A(R1, 6, NOOP),
        "0000000000010002 0000000000000006  00000000 00000000",
    ),
    (
        "phase2b",
        Phase2B(2, R1, 5, (HELLO,)),
        "0002 0000000000010002 0000000000000005"
        "  00000001 00000005 0001 00000007 00000001 68656c6c6f",
    ),
    (
        "decision",
        Decision(9, (Submission(4, 2, 3, "x y"),)),
        "0000000000000009  00000001 00000003 0004 00000002 00000003 782079",
    ),
    (
        "decision_noop",
        Decision(END - 1, NOOP),
        "7ffffffffffffffe  00000000 00000000",
    ),
    (
        "catchup",
        CatchUp(4, 12),
        "0004 000000000000000c",
    ),
    (
        "heartbeat",
        Heartbeat(2, R1, 100),
        "0002 0000000000010002 0000000000000064",
    ),
    (
        "hello",
        Hello(0x0123456789ABCDEF),
        "0123456789abcdef",
    ),
]

GOLDEN_IDS = [name for name, _, _ in GOLDEN]


def test_golden_table_covers_every_message_kind():
    assert {msg.kind for _, msg, _ in GOLDEN} == set(Kind)


@pytest.mark.parametrize(("name", "msg", "hexdata"), GOLDEN, ids=GOLDEN_IDS)
def test_encode_matches_golden_bytes(name, msg, hexdata):
    assert encode(msg) == _datagram(msg.kind, hexdata)


@pytest.mark.parametrize(("name", "msg", "hexdata"), GOLDEN, ids=GOLDEN_IDS)
def test_decode_matches_golden_message(name, msg, hexdata):
    assert decode(_datagram(msg.kind, hexdata)) == msg


def test_decode_accepts_bytearray():
    # A receive loop may hand over a reused bytearray buffer (recvfrom_into).
    for _, msg, hexdata in GOLDEN:
        assert decode(bytearray(_datagram(msg.kind, hexdata))) == msg


def test_checksum_is_crc32c():
    # The check value of CRC-32C (Castagnoli, RFC 3720): not zlib's CRC-32 (cbf43926).
    assert crc32c.crc32c(b"123456789") == 0xE3069283


# Whole datagrams, checksum included: heartbeat of proposer 2, incarnation
# 0x0123456789abcdef, its 7th datagram; hello of acceptor 1 echoing an incarnation.
FULL_GOLDEN = [
    (
        (1, 2, 0x0123456789ABCDEF), 7, Heartbeat(2, R1, 100),
        "5058 02 0a  01 0002 0123456789abcdef 0000000000000007"
        "  0002 0000000000010002 0000000000000064  51c0d925",
    ),
    (
        (2, 1, 5), 1, Hello(0x0123456789ABCDEF),
        "5058 02 0b  02 0001 0000000000000005 0000000000000001  0123456789abcdef  adf4d980",
    ),
]


@pytest.mark.parametrize(("sender", "seq", "msg", "hexdata"), FULL_GOLDEN)
def test_whole_datagram_matches_golden_bytes_both_ways(sender, seq, msg, hexdata):
    data = bytes.fromhex(hexdata)
    assert Codec(sender=sender).encode(msg, seq) == data
    assert unpack(data) == (Header(*sender, seq), msg)
    assert peek_header(data) == Header(*sender, seq)


def test_header_names_the_sender():
    data = Codec(sender=(2, 3, 99)).encode(Nack(3, R1, 4, R2), 12)
    header, _ = unpack(data)
    assert (header.name, header.incarnation, header.seq) == ("acceptor3", 99, 12)
    assert unpack(encode(Hello(0)))[0].name == "anonymous"


@pytest.mark.parametrize("sender", [(4, 1, 1), (0, 70_000, 1), (0, 1, -1), (0, 1, 1 << 64)])
def test_codec_refuses_an_impossible_sender(sender):
    with pytest.raises(UsageError):
        Codec(sender=sender)


# ---------------------------------------------------------------- strategies

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
numbers = st.integers(0, END)  # rounds and instances
values = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\n"), max_size=12
)
submissions = st.builds(Submission, u16, u32, u32, values)
batches = st.lists(submissions, max_size=4).map(tuple)

messages = st.one_of(
    st.builds(Submit, st.lists(submissions, min_size=1, max_size=4).map(tuple)),
    st.builds(Ack, u16, u32, st.lists(u32, max_size=6).map(tuple)),
    st.builds(Phase1A, numbers, numbers, st.booleans()),
    st.builds(
        Phase1B,
        u16,
        numbers,
        numbers,
        numbers,
        st.lists(st.builds(Accepted, numbers, numbers, batches), max_size=3).map(tuple),
    ),
    st.builds(Nack, u16, numbers, numbers, numbers),
    st.builds(Phase2A, numbers, numbers, batches),
    st.builds(Phase2B, u16, numbers, numbers, batches),
    st.builds(Decision, numbers, batches),
    st.builds(CatchUp, u16, numbers),
    st.builds(Heartbeat, u16, numbers, numbers),
    st.builds(Hello, st.integers(0, 2**64 - 1)),
)
senders = st.tuples(st.sampled_from([0, 1, 2, 3, 255]), u16, st.integers(0, 2**64 - 1))


# ---------------------------------------------------------------- round trip


@settings(max_examples=600)
@given(messages)
def test_decode_inverts_encode_for_every_message_kind(msg):
    assert decode(encode(msg)) == msg


@settings(max_examples=300)
@given(messages, senders, st.integers(0, 2**64 - 1))
def test_unpack_gives_back_sender_and_sequence(msg, sender, seq):
    assert unpack(Codec(sender=sender).encode(msg, seq)) == (Header(*sender, seq), msg)


@settings(max_examples=200)
@given(messages, st.text(min_size=1, max_size=20).filter(lambda s: s.strip()))
def test_authenticated_codec_round_trips(msg, secret):
    codec = Codec(secret)
    assert codec.authenticated
    assert codec.decode(codec.encode(msg)) == msg


def test_authenticated_datagram_is_plain_datagram_plus_tag():
    plain = encode(Submit((HELLO,)))
    signed = Codec("s3cret").encode(Submit((HELLO,)))
    assert signed[:-TAG_SIZE] == plain
    assert len(signed) == len(plain) + TAG_SIZE


def test_empty_secret_means_no_authentication():
    assert not Codec("").authenticated
    assert not Codec(None).authenticated
    assert Codec("").encode(Submit((HELLO,))) == encode(Submit((HELLO,)))


def test_secret_as_text_and_as_utf8_bytes_agree():
    msg = Heartbeat(1, R1, 3)
    assert Codec("clé").encode(msg) == Codec("clé".encode()).encode(msg)


# ---------------------------------------------------------------- authentication failures


def test_wrong_secret_is_a_decode_error():
    data = Codec("right").encode(Decision(1, (HELLO,)))
    with pytest.raises(DecodeError):
        Codec("wrong").decode(data)


def test_missing_tag_is_a_decode_error():
    data = encode(Decision(1, (HELLO,)))
    with pytest.raises(DecodeError):
        Codec("s3cret").decode(data)


def test_plain_codec_rejects_authenticated_datagram():
    data = Codec("s3cret").encode(Decision(1, (HELLO,)))
    with pytest.raises(DecodeError):
        decode(data)


@pytest.mark.parametrize("size", [0, 1, 3, 4, TAG_SIZE, TAG_SIZE + 3])
def test_too_short_authenticated_datagram_is_a_decode_error(size):
    with pytest.raises(DecodeError):
        Codec("s3cret").decode(bytes(size))


@settings(max_examples=300)
@given(messages, st.data())
def test_any_flipped_bit_of_authenticated_datagram_is_a_decode_error(msg, data):
    codec = Codec("s3cret")
    raw = bytearray(codec.encode(msg))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1), label="bit")
    raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(DecodeError):
        codec.decode(bytes(raw))


# ---------------------------------------------------------------- strict decoder


MALFORMED = [
    # (kind, body, why): a correct header and checksum around a body the decoder refuses.
    (0x00, "", "kind 0"),
    (0x0C, "0002 0000000000010002 0000000000000064", "unknown kind"),
    (0x03, "0000000000010002 0000000000000000 02", "onward flag 2"),
    (0x03, "8000000000000000 0000000000000000 01", "round above END"),
    (0x09, "0004 ffffffffffffffff", "instance above END"),
    (0x01, "00000000 00000000", "Submit without submission"),
    (0x06, "0000000000010002 0000000000000006  00000000 00000001 61", "no-op with text"),
    (
        0x08,
        "0000000000000009  00000002 00000001 0001 0001 00000001 00000001 00000001 00000002 61",
        "2 items, 1 value",
    ),
    (0x08, "0000000000000009  00000001 00000002 0004 00000002 00000003 c328", "invalid UTF-8"),
    (0x08, "0000000000000009  ffffffff 00000000", "absurd item count"),
    (0x02, "0001 00000007 ffffffff", "absurd Ack count"),
    (
        0x04,
        "0001 0000000000010002 000000000000000a 0000000000000014 ffffffff",
        "absurd Phase1B count",
    ),
    (0x0A, "0002 0000000000010002 0000000000000064 00", "trailing byte"),
    (0x0A, "0002 0000000000010002 00000000000000", "body cut short"),
    (0x0B, "", "Hello without echo"),
]


@pytest.mark.parametrize(("kind", "body", "why"), MALFORMED, ids=[w for _, _, w in MALFORMED])
def test_decoder_rejects_malformed_datagram(kind, body, why):
    with pytest.raises(DecodeError):
        decode(_datagram(kind, body))


_BEAT = _datagram(0x0A, "0002 0000000000010002 0000000000000064")
BAD_FRAMES = [
    (b"", "truncated", "empty"),
    (bytes.fromhex("5058 02"), "truncated", "shorter than a header"),
    (bytes.fromhex("5859 02 0a") + bytes(40), "foreign", "wrong magic"),
    (_BEAT[:2] + b"\x01" + _BEAT[3:], "version", "version 1"),
    (_BEAT[:-1], "checksum", "cut"),
    (_BEAT + b"\0", "checksum", "extended"),
    (_BEAT[:30] + bytes([_BEAT[30] ^ 4]) + _BEAT[31:], "checksum", "a flipped bit"),
    (_sealed("5058 02 0a 04 0001 0000000000000001 0000000000000001",
             "0002 0000000000010002 0000000000000064"), "sender", "role code 4"),
]


@pytest.mark.parametrize(("data", "reason", "why"), BAD_FRAMES, ids=[w for _, _, w in BAD_FRAMES])
def test_decoder_rejects_bad_frame_with_its_reason(data, reason, why):
    with pytest.raises(DecodeError) as info:
        decode(data)
    assert info.value.reason == reason


def test_decoder_verdict_does_not_depend_on_earlier_datagrams():
    # Same batch bytes after the batch head, but announced as 1 item instead of 2: malformed
    # (one value would hold a newline) whether or not the 2-item batch was decoded before.
    good = encode(Decision(9, (Submission(1, 1, 1, "a"), Submission(2, 2, 2, "b"))))
    body = good[HEADER_SIZE:-4]
    columns_and_text = body[8 + 8 :]
    bad_body = body[:8] + struct.pack("!II", 1, len(columns_and_text) - 10) + columns_and_text
    bad = _datagram(Kind.DECISION, bad_body.hex())
    assert decode(good).value[1].value == "b"
    with pytest.raises(DecodeError):
        decode(bad)


def test_oversized_datagram_is_a_decode_error():
    with pytest.raises(DecodeError):
        decode(bytes(MAX_DATAGRAM + 1))


# ---------------------------------------------------------------- encoder misuse


def test_value_with_newline_is_a_usage_error():
    with pytest.raises(UsageError):
        encode(Submit((Submission(1, 1, 1, "two\nlines"),)))


def test_value_with_newline_in_phase1b_entry_is_a_usage_error():
    with pytest.raises(UsageError):
        encode(Phase1B(1, R1, 0, END, (Accepted(0, R1, (Submission(1, 1, 1, "a\n"),)),)))


def test_oversized_message_is_a_usage_error():
    batch = tuple(Submission(1, 1, seq, "v" * 15_000) for seq in range(5))
    with pytest.raises(UsageError):
        encode(Phase2A(R1, 0, batch))


def test_oversized_authenticated_message_is_a_usage_error():
    # Fits without a tag, not with one: the limit applies to the whole datagram.
    header_and_fields = HEADER_SIZE + 16 + 8 + 10 + 4
    value = "v" * (MAX_DATAGRAM - header_and_fields - TAG_SIZE + 1)
    msg = Phase2A(R1, 0, (Submission(1, 1, 1, value),))
    assert len(encode(msg)) <= MAX_DATAGRAM
    with pytest.raises(UsageError):
        Codec("s3cret").encode(msg)


def test_largest_datagram_round_trips():
    header_and_fields = HEADER_SIZE + 16 + 8 + 10 + 4
    value = "v" * (MAX_DATAGRAM - header_and_fields)
    msg = Phase2A(R1, 0, (Submission(1, 1, 1, value),))
    data = encode(msg)
    assert len(data) == MAX_DATAGRAM
    assert decode(data) == msg


# Encoder and decoder agree on what is a valid message; misuse is a UsageError.


def test_encoder_rejects_submit_without_submission():
    with pytest.raises(UsageError):
        encode(Submit(()))


def test_encoder_rejects_round_above_end():
    with pytest.raises(UsageError):
        encode(Phase1A(END + 1, 0, True))


def test_every_ack_the_encoder_accepts_decodes():
    msg = Ack(1, 1, tuple(range(7000)))
    assert decode(encode(msg)) == msg


def test_out_of_range_client_id_is_a_usage_error():
    with pytest.raises(UsageError):
        encode(Submit((Submission(70_000, 1, 1, "a"),)))


def test_value_with_surrogate_is_a_usage_error():
    with pytest.raises(UsageError):
        encode(Submit((Submission(1, 1, 1, "\ud800"),)))


def test_batch_within_budget_fits_one_datagram():
    per_item = submission_size(Submission(1, 1, 0, "ab"))
    batch = tuple(Submission(1, 1, seq, "ab") for seq in range(MAX_BATCH_BYTES // per_item))
    assert sum(map(submission_size, batch)) <= MAX_BATCH_BYTES
    encode(Phase2B(1, R1, 0, batch))  # must not raise


# ---------------------------------------------------------------- fuzzing
#
# Whatever arrives, decode raises DecodeError or returns a message; and every datagram it
# accepts is canonical: encoding the message gives back exactly the same bytes.


def _decode_or_decode_error(data: bytes, codec: Codec | None = None) -> None:
    codec = codec or Codec()
    try:
        header, msg = codec.unpack(data)
    except DecodeError:
        return
    assert codec.encode(msg, header.seq, header[:3]) == data


FUZZ = settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=200))
@example(b"")
@example(b"PX\x01")
def test_random_bytes_raise_only_decode_error(data):
    _decode_or_decode_error(data)


@FUZZ
@given(st.sampled_from([*Kind, 0, 12]), st.binary(max_size=120))
def test_random_body_with_valid_header_and_checksum_raises_only_decode_error(kind, body):
    # The checksum is right, so this reaches the per-kind decoders.
    _decode_or_decode_error(_datagram(kind, body.hex()))


@FUZZ
@given(messages, st.lists(st.integers(0, 2**20), min_size=1, max_size=4))
def test_bit_flips_of_valid_datagram_raise_only_decode_error(msg, positions):
    raw = bytearray(encode(msg))
    for position in positions:
        bit = position % (len(raw) * 8)
        raw[bit // 8] ^= 1 << (bit % 8)
    _decode_or_decode_error(bytes(raw))


@FUZZ
@given(messages, senders, st.lists(st.integers(0, 2**20), min_size=1, max_size=3, unique=True))
def test_up_to_three_flipped_bits_never_become_a_message(msg, sender, positions):
    # CRC-32C has Hamming distance >= 4 at every datagram size: 1 to 3 flipped bits are
    # always caught (flips in magic or version are caught before the checksum).
    raw = bytearray(Codec(sender=sender).encode(msg, 5))
    bits = {position % (len(raw) * 8) for position in positions}
    for bit in bits:
        raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(DecodeError) as info:
        decode(bytes(raw))
    expected = {"foreign", "version"} if min(bits) < 24 else {"checksum"}
    assert info.value.reason in expected


@settings(max_examples=500)
@given(messages, st.data())
def test_truncated_valid_datagram_is_a_decode_error(msg, data):
    raw = encode(msg)
    cut = data.draw(st.integers(0, len(raw) - 1), label="cut")
    with pytest.raises(DecodeError) as info:
        decode(raw[:cut])
    assert info.value.reason in ({"checksum"} if cut >= HEADER_SIZE + 4
                                 else {"truncated", "version", "checksum"})


@settings(max_examples=500)
@given(messages, st.binary(min_size=1, max_size=40))
def test_extended_valid_datagram_is_a_checksum_error(msg, extra):
    with pytest.raises(DecodeError) as info:
        decode(encode(msg) + extra)
    assert info.value.reason == "checksum"


@settings(max_examples=300)
@given(messages, st.data())
def test_mutated_authenticated_datagram_raises_only_decode_error(msg, data):
    codec = Codec("s3cret")
    raw = bytearray(codec.encode(msg))
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    raw[position] = data.draw(st.integers(0, 255), label="byte")
    _decode_or_decode_error(bytes(raw), codec)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "truncated"),
        (b"XY\x01\x07", "foreign"),
        (b"PX\x09\x07", "version"),
        (b"PX\x01\x07", "version"),
        (_datagram(0x63, ""), "unknown-kind"),
        (b"PX\x02\x03\x00", "truncated"),
        (_datagram(Kind.PHASE1A, "00"), "truncated"),
        (encode(Heartbeat(1, 2, 3)) + b"\x00", "checksum"),
        (_datagram(Kind.HEARTBEAT, encode(Heartbeat(1, 2, 3))[HEADER_SIZE:-4].hex() + "00"),
         "trailing-bytes"),
        (bytes(MAX_DATAGRAM + 1), "oversized"),
    ],
)
def test_decode_errors_carry_a_stable_reason_for_counters(data, reason):
    with pytest.raises(DecodeError) as info:
        decode(data)
    assert info.value.reason == reason


def test_a_wrong_tag_is_an_auth_failure():
    with pytest.raises(DecodeError) as info:
        Codec("right").decode(Codec("wrong").encode(Heartbeat(1, 2, 3)))
    assert info.value.reason == "auth"
