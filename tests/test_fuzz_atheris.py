"""Coverage-guided fuzzing of the decoder with atheris (libFuzzer for Python).

The hypothesis tests in ``test_codec.py`` throw random and mutated bytes at the decoder
(and check that encode then decode gives back the same message, with and without a
secret); here libFuzzer *searches* for inputs that reach new branches of the codec. The
property is the same: ``Codec().decode`` and ``Codec("s").decode`` raise only
``DecodeError``, and whatever they accept re-encodes to the very same bytes.

The fuzz target is this file run as a script, in a subprocess (libFuzzer owns the
process and exits on the first failure)::

    python tests/test_fuzz_atheris.py -runs=1000000 corpus_dir    # a long run, on demand

The first byte of each input picks the codec: bit 0 the secret one; with bit 2 set the
harness appends the right CRC-32C to the rest, and with bits 0 and 1 set it signs it with
the right HMAC tag, so the fuzzer gets past the checksum and authentication and explores
the decoders behind them too.

Skipped when atheris is not installed (``pip install atheris``; wheels for Linux x86-64).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("PAXOS_FUZZ_RUNS", "30000"))
"""Inputs tried per test in CI (a few seconds); raise it for a longer search."""
SELFTEST = "PAXOS_FUZZ_SELFTEST"
"""When set, the target fails on any decoded Heartbeat: proves a failure is reported."""


# ---------------------------------------------------------------------- the fuzz target


def _target(codec_plain, codec_signed, decode_error, tag, seal):  # pragma: no cover
    """The function libFuzzer calls with each input (in the subprocess)."""
    selftest = bool(os.environ.get(SELFTEST))

    def one_input(data: bytes) -> None:
        if not data:
            return
        flag, body = data[0], data[1:]
        codec = codec_signed if flag & 1 else codec_plain
        if flag & 4:
            body = seal(body)
        if flag & 3 == 3:
            body += tag(body)
        try:
            header, msg = codec.unpack(body)
        except decode_error:
            return
        again = codec.encode(msg, header.seq, header[:3])
        assert again == body, f"{msg!r} re-encodes differently"
        if selftest and msg.kind == 10:
            raise RuntimeError("self-test: a decoded Heartbeat")

    return one_input


def _seed_corpus(directory: Path) -> None:
    """One valid datagram of every kind, plain (flag 0) and to be signed (flag 3); and
    without its checksum, to be sealed (flags 4 and 7)."""
    from paxos_edu.codec import encode
    from paxos_edu.messages import (
        END,
        Accepted,
        Ack,
        CatchUp,
        Decision,
        Heartbeat,
        Hello,
        Nack,
        Phase1A,
        Phase1B,
        Phase2A,
        Phase2B,
        Submission,
        Submit,
    )

    sub = (Submission(1, 7, 1, "hello"), Submission(2, 9, 4, "wörld"))
    messages = [
        Submit(sub), Ack(1, 7, (1, 2, 3)), Phase1A(65538, 0, True),
        Phase1B(3, 65538, 0, END, (Accepted(0, 65537, sub), Accepted(1, 65537, ()))),
        Nack(1, 65538, 4, 131075), Phase2A(65538, 5, sub), Phase2B(2, 65538, 5, sub),
        Decision(9, sub), CatchUp(4, 12), Heartbeat(2, 65538, 100), Hello(12345),
    ]
    directory.mkdir(parents=True, exist_ok=True)
    for i, msg in enumerate(messages):
        data = encode(msg)
        (directory / f"plain{i}").write_bytes(b"\x00" + data)
        (directory / f"signed{i}").write_bytes(b"\x03" + data)
        (directory / f"sealed{i}").write_bytes(b"\x04" + data[:-4])
        (directory / f"sealed-signed{i}").write_bytes(b"\x07" + data[:-4])


def main() -> None:  # pragma: no cover -- runs in the subprocess
    import hmac
    import struct

    import atheris
    from crc32c import crc32c

    with atheris.instrument_imports():
        from paxos_edu.codec import Codec
        from paxos_edu.errors import DecodeError

    signed = Codec("s")
    key = signed._key  # the test signs inputs the way the codec does

    def tag(body: bytes) -> bytes:
        return hmac.digest(key, body, "sha256")

    def seal(body: bytes) -> bytes:
        return body + struct.pack("!I", crc32c(body))

    atheris.Setup(sys.argv, _target(Codec(), signed, DecodeError, tag, seal))
    atheris.Fuzz()


# ---------------------------------------------------------------------- the tests


def _fuzz(tmp_path: Path, runs: int, *, seed: int, env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    corpus = tmp_path / "corpus"
    _seed_corpus(corpus)
    command = [
        sys.executable, str(Path(__file__).resolve()), f"-runs={runs}", f"-seed={seed}",
        "-max_len=4096", f"-artifact_prefix={tmp_path}{os.sep}", "-print_final_stats=1",
        str(corpus),
    ]
    environment = {k: v for k, v in os.environ.items() if k != SELFTEST}
    environment.update(PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("seed", [1, 2])
def test_coverage_guided_fuzzing_finds_only_decode_errors(tmp_path, seed):
    result = _fuzz(tmp_path, RUNS, seed=seed)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert f"Done {RUNS} runs" in result.stderr
    assert not list(tmp_path.glob("crash-*"))


def test_fuzz_harness_reports_an_escaping_exception(tmp_path):
    # The target above is only worth something if a failure inside it fails the run.
    result = _fuzz(tmp_path, RUNS, seed=1, env={SELFTEST: "1"})
    assert result.returncode != 0
    assert "self-test: a decoded Heartbeat" in result.stdout + result.stderr
    assert list(tmp_path.glob("crash-*"))


if __name__ == "__main__":  # pragma: no cover
    main()
