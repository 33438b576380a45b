"""paxos_edu.runtime after its split into concept modules: every public name of its parts
is still importable from paxos_edu.runtime, and Runtime carries every part's methods."""

from __future__ import annotations

import importlib

import pytest

import paxos_edu.runtime as runtime

PARTS = ["runtime_start", "runtime_receive", "runtime_send", "runtime_output",
         "runtime_counters", "runtime_stop"]


@pytest.mark.parametrize("part", PARTS)
def test_runtime_is_built_from_the_mixin_of_each_part(part):
    module = importlib.import_module(f"paxos_edu.{part}")
    mixins = [getattr(module, name) for name in module.__all__
              if name.startswith("Runtime") and isinstance(getattr(module, name), type)]
    assert len(mixins) == 1 and mixins[0] in runtime.Runtime.__mro__


def test_the_names_imported_from_paxos_edu_runtime_before_the_split_still_are():
    for name in ["Runtime", "run_process", "role_rng", "new_session", "RECV_BATCH", "IDLE_TICK",
                 "LISTEN_TIMEOUTS", "EXIT_OUTPUT_CLOSED", "EXIT_IDENTITY_CONFLICT"]:
        assert name in runtime.__all__ and hasattr(runtime, name), name
    assert runtime.role_rng(7, "acceptor", 1).random() == runtime.role_rng(7, "acceptor",
                                                                          1).random()
