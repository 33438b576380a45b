"""Throughput and latency measurements of paxos_edu (see ``benchmarks/README.md``).

A package so that ``python -m paxos_edu bench`` can import :mod:`benchmarks.bench` from
a source checkout; ``benchmarks/`` is not installed with ``paxos_edu``.
"""
