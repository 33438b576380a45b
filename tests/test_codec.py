"""Wire format: golden bytes both ways, round-trip properties, authentication and fuzzing."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from paxos_edu.codec import (
    MAX_BATCH_BYTES,
    MAX_DATAGRAM,
    TAG_SIZE,
    Codec,
    decode,
    encode,
    submission_size,
)
from paxos_edu.errors import DecodeError, UsageError
from paxos_edu.messages import (
    END,
    NOOP,
    Accepted,
    Ack,
    CatchUp,
    Decision,
    Heartbeat,
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
# One table feeds both the encoder and the decoder tests. The bytes are written out by
# hand from the format in codec.py's docstring: header "PX" (50 58), version 01, kind;
# then fixed fields in network order; a batch is n (I), text length (I), n client ids (H),
# n sessions (I), n seqs (I), then the values joined by "\n" in UTF-8.

GOLDEN: list[tuple[str, object, str]] = [
    (
        "submit_one",
        Submit((HELLO,)),
        "5058 01 01  00000001 00000005  0001  00000007  00000001  68656c6c6f",
    ),
    (
        "submit_non_ascii",
        Submit((Submission(2, 0xDEADBEEF, 10, "héllo"), Submission(3, 1, 11, "€"))),
        "5058 01 01  00000002 0000000a  0002 0003  deadbeef 00000001  0000000a 0000000b"
        "  68 c3a9 6c6c6f 0a e282ac",
    ),
    (
        "submit_empty_value",
        Submit((Submission(65535, 0xFFFFFFFF, 0, ""),)),
        "5058 01 01  00000001 00000000  ffff  ffffffff  00000000",
    ),
    (
        "ack",
        Ack(1, 7, (1, 2, 3)),
        "5058 01 02  0001 00000007 00000003  00000001 00000002 00000003",
    ),
    (
        "ack_empty",
        Ack(1, 7, ()),
        "5058 01 02  0001 00000007 00000000",
    ),
    (
        "phase1a_onward",
        Phase1A(R1, 0, True),
        "5058 01 03  0000000000010002 0000000000000000 01",
    ),
    (
        "phase1a_one_instance",
        Phase1A(R2, 5, False),
        "5058 01 03  0000000000020003 0000000000000005 00",
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
        "5058 01 04  0003 0000000000020003 0000000000000000 7fffffffffffffff 00000002"
        "  0000000000000000 0000000000010002  00000001 00000001 0001 00000007 00000001 61"
        "  0000000000000001 0000000000010002  00000000 00000000",
    ),
    (
        "phase1b_empty_page",
        Phase1B(1, R1, 10, 20, ()),
        "5058 01 04  0001 0000000000010002 000000000000000a 0000000000000014 00000000",
    ),
    (
        "nack",
        Nack(1, R1, 4, R2),
        "5058 01 05  0001 0000000000010002 0000000000000004 0000000000020003",
    ),
    (
        "phase2a",
        Phase2A(R1, 5, (HELLO,)),
        "5058 01 06  0000000000010002 0000000000000005"
        "  00000001 00000005 0001 00000007 00000001 68656c6c6f",
    ),
    (
        "phase2a_noop",
        Phase2A(R1, 6, NOOP),
        "5058 01 06  0000000000010002 0000000000000006  00000000 00000000",
    ),
    (
        "phase2b",
        Phase2B(2, R1, 5, (HELLO,)),
        "5058 01 07  0002 0000000000010002 0000000000000005"
        "  00000001 00000005 0001 00000007 00000001 68656c6c6f",
    ),
    (
        "decision",
        Decision(9, (Submission(4, 2, 3, "x y"),)),
        "5058 01 08  0000000000000009  00000001 00000003 0004 00000002 00000003 782079",
    ),
    (
        "decision_noop",
        Decision(END - 1, NOOP),
        "5058 01 08  7ffffffffffffffe  00000000 00000000",
    ),
    (
        "catchup",
        CatchUp(4, 12),
        "5058 01 09  0004 000000000000000c",
    ),
    (
        "heartbeat",
        Heartbeat(2, R1, 100),
        "5058 01 0a  0002 0000000000010002 0000000000000064",
    ),
]

GOLDEN_IDS = [name for name, _, _ in GOLDEN]


def test_golden_table_covers_every_message_kind():
    assert {msg.kind for _, msg, _ in GOLDEN} == set(Kind)


@pytest.mark.parametrize(("name", "msg", "hexdata"), GOLDEN, ids=GOLDEN_IDS)
def test_encode_matches_golden_bytes(name, msg, hexdata):
    assert encode(msg) == bytes.fromhex(hexdata)


@pytest.mark.parametrize(("name", "msg", "hexdata"), GOLDEN, ids=GOLDEN_IDS)
def test_decode_matches_golden_message(name, msg, hexdata):
    assert decode(bytes.fromhex(hexdata)) == msg


def test_decode_accepts_bytearray():
    # A receive loop may hand over a reused bytearray buffer (recvfrom_into).
    for _, msg, hexdata in GOLDEN:
        assert decode(bytearray.fromhex(hexdata)) == msg


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
)


# ---------------------------------------------------------------- round trip


@settings(max_examples=600)
@given(messages)
def test_decode_inverts_encode_for_every_message_kind(msg):
    assert decode(encode(msg)) == msg


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
    ("", "empty"),
    ("5058 01", "shorter than a header"),
    ("5859 01 0a  0002 0000000000010002 0000000000000064", "wrong magic"),
    ("5058 02 0a  0002 0000000000010002 0000000000000064", "unknown version"),
    ("5058 01 00", "kind 0"),
    ("5058 01 0b  0002 0000000000010002 0000000000000064", "unknown kind"),
    ("5058 01 03  0000000000010002 0000000000000000 02", "onward flag 2"),
    ("5058 01 03  8000000000000000 0000000000000000 01", "round above END"),
    ("5058 01 09  0004 ffffffffffffffff", "instance above END"),
    ("5058 01 01  00000000 00000000", "Submit without submission"),
    ("5058 01 06  0000000000010002 0000000000000006  00000000 00000001 61", "no-op with text"),
    (
        "5058 01 08  0000000000000009  00000002 00000001 0001 0001 00000001 00000001"
        " 00000001 00000002 61",
        "2 items, 1 value",
    ),
    (
        "5058 01 08  0000000000000009  00000001 00000002 0004 00000002 00000003 c328",
        "invalid UTF-8",
    ),
    ("5058 01 08  0000000000000009  ffffffff 00000000", "absurd item count"),
    ("5058 01 02  0001 00000007 ffffffff", "absurd Ack count"),
    (
        "5058 01 04  0001 0000000000010002 000000000000000a 0000000000000014 ffffffff",
        "absurd Phase1B count",
    ),
    ("5058 01 0a  0002 0000000000010002 0000000000000064 00", "trailing byte"),
]


@pytest.mark.parametrize(("hexdata", "why"), MALFORMED, ids=[why for _, why in MALFORMED])
def test_decoder_rejects_malformed_datagram(hexdata, why):
    with pytest.raises(DecodeError):
        decode(bytes.fromhex(hexdata))


def test_decoder_verdict_does_not_depend_on_earlier_datagrams():
    # Same batch bytes after the batch head, but announced as 1 item instead of 2: malformed
    # (one value would hold a newline) whether or not the 2-item batch was decoded before.
    good = encode(Decision(9, (Submission(1, 1, 1, "a"), Submission(2, 2, 2, "b"))))
    columns_and_text = good[4 + 8 + 8 :]
    bad = good[: 4 + 8] + struct.pack("!II", 1, len(columns_and_text) - 10) + columns_and_text
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
    header_and_fields = 4 + 16 + 8 + 10
    value = "v" * (MAX_DATAGRAM - header_and_fields - TAG_SIZE + 1)
    msg = Phase2A(R1, 0, (Submission(1, 1, 1, value),))
    assert len(encode(msg)) <= MAX_DATAGRAM
    with pytest.raises(UsageError):
        Codec("s3cret").encode(msg)


def test_largest_datagram_round_trips():
    header_and_fields = 4 + 16 + 8 + 10
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
        msg = codec.decode(data)
    except DecodeError:
        return
    assert codec.encode(msg) == data


FUZZ = settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=200))
@example(b"")
@example(b"PX\x01")
def test_random_bytes_raise_only_decode_error(data):
    _decode_or_decode_error(data)


@FUZZ
@given(st.sampled_from(list(Kind)), st.binary(max_size=120))
def test_random_body_after_valid_header_raises_only_decode_error(kind, body):
    _decode_or_decode_error(struct.pack("!2sBB", b"PX", 1, kind) + body)


@FUZZ
@given(messages, st.lists(st.integers(0, 2**20), min_size=1, max_size=4))
def test_bit_flips_of_valid_datagram_raise_only_decode_error(msg, positions):
    raw = bytearray(encode(msg))
    for position in positions:
        bit = position % (len(raw) * 8)
        raw[bit // 8] ^= 1 << (bit % 8)
    _decode_or_decode_error(bytes(raw))


@settings(max_examples=500)
@given(messages, st.data())
def test_truncated_valid_datagram_is_a_decode_error(msg, data):
    raw = encode(msg)
    cut = data.draw(st.integers(0, len(raw) - 1), label="cut")
    with pytest.raises(DecodeError):
        decode(raw[:cut])


@settings(max_examples=500)
@given(messages, st.binary(min_size=1, max_size=40))
def test_extended_valid_datagram_is_a_decode_error(msg, extra):
    with pytest.raises(DecodeError):
        decode(encode(msg) + extra)


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
        (b"PX\x01\x63", "unknown-kind"),
        (b"PX\x01\x03\x00", "truncated"),
        (encode(Heartbeat(1, 2, 3)) + b"\x00", "trailing-bytes"),
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
