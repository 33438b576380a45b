"""Smoke test of the benchmark suite (benchmarks/bench.py) through ``python -m paxos_edu bench``.

Tiny runs of every part: the table and the CSV come out with the expected rows and sane
numbers. No timing threshold is checked here -- that is what the suite itself reports.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """One tiny suite run, from a directory outside the checkout (as after pip install)."""
    out = tmp_path_factory.mktemp("bench") / "latest.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "paxos_edu", "bench", "--quick", "--scale", "0.01",
         "--configs", "default", "--out", str(out)],
        cwd=out.parent, capture_output=True, text=True, timeout=110,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    return proc, out


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as file:
        return {row["name"]: row for row in csv.DictReader(file)}


def test_bench_exits_with_a_verdict_not_an_error(bench_run):
    proc, _ = bench_run
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: a target failed


def test_bench_prints_one_table_with_every_figure(bench_run):
    proc, _ = bench_run
    table = proc.stdout
    assert "figure" in table and "x ref" in table and "target" in table
    for name in ("reference.raw_multicast", "reference.hop_latency.p50",
                 "throughput.default", "cpu_per_value.default.total",
                 "messages_per_value.default.PHASE2A", "messages_per_value.default.total",
                 "course.2x100", "course.2x100.from_spawn", "course.loss30.2x20",
                 "latency.p50", "latency.p99", "latency.p50.stdin_to_stdout",
                 "storage.memory.values_per_s", "storage.disk.values_per_s",
                 "storage.disk_over_memory", "storage.fsyncs_per_value", "storage.latency.p50"):
        assert name in table, name
    assert "PASS" in table or "FAIL" in table


def test_bench_writes_the_csv_and_a_timestamped_copy(bench_run):
    proc, out = bench_run
    assert out.exists(), proc.stderr[-3000:]
    copies = list(out.parent.glob("bench-*.csv"))
    assert len(copies) == 1
    assert copies[0].read_text() == out.read_text()
    with open(out, newline="") as file:
        header = next(csv.reader(file))
    assert header == ["name", "value", "unit", "ratio_to_reference", "target", "ok",
                      "settings", "loadavg", "timestamp"]


def test_bench_numbers_are_sane(bench_run):
    _, out = bench_run
    rows = _rows(out)
    ref = float(rows["reference.raw_multicast"]["value"])
    assert ref > 1000  # datagrams/s, even on a loaded machine
    assert rows["reference.raw_multicast"]["ratio_to_reference"] == "1.0"
    rate = rows["throughput.default"]
    assert float(rate["value"]) > 0
    assert math.isclose(float(rate["ratio_to_reference"]), float(rate["value"]) / ref,
                        rel_tol=1e-3)
    assert rate["ok"] in ("PASS", "FAIL") and rate["target"]
    assert "INCORRECT" not in rate["settings"] and "INCOMPLETE" not in rate["settings"]
    for name in ("course.2x100", "course.loss30.2x20"):
        assert 0 < float(rows[name]["value"]) < 60, name
        assert "INCORRECT" not in rows[name]["settings"], rows[name]["settings"]
    p50, p99 = float(rows["latency.p50"]["value"]), float(rows["latency.p99"]["value"])
    assert 0 < p50 <= p99 < 1000  # ms
    # Multi-Paxos with batching: well under one datagram of each kind per value.
    assert 0 < float(rows["messages_per_value.default.total"]["value"]) < 10
    assert float(rows["cpu_per_value.default.total"]["value"]) >= 0
    # Group commit: acceptors fsync at least once per batch, never once per datagram.
    assert 0 < float(rows["storage.fsyncs_per_value"]["value"]) < 3
    assert "INCORRECT" not in rows["storage.disk.values_per_s"]["settings"]
    assert all(row["timestamp"] and row["loadavg"] for row in rows.values())
