"""The role table: role names, the groups each role joins, process names both ways."""

import re
from pathlib import Path

import pytest

from paxos_edu import eventlog, runtime, sim, viz
from paxos_edu.errors import UsageError
from paxos_edu.messages import Group
from paxos_edu.processes import (
    LISTENS,
    ROLES,
    START_ORDER,
    check_role,
    parse_process_name,
    process_name,
    role_of,
)


def test_roles_are_the_four_paxos_roles_in_value_flow_order():
    assert ROLES == ("client", "proposer", "acceptor", "learner")
    assert sorted(START_ORDER) == sorted(ROLES)
    assert START_ORDER[0] == "acceptor" and START_ORDER[-1] == "client"


def test_proposers_also_listen_on_the_learners_group():
    assert set(LISTENS) == set(ROLES)
    assert LISTENS["proposer"] == (Group.PROPOSERS, Group.LEARNERS)
    assert LISTENS["acceptor"] == (Group.ACCEPTORS,)


def test_simulator_and_runtime_share_the_one_table():
    for module in (runtime, sim, eventlog, viz):
        assert getattr(module, "ROLES", ROLES) is ROLES, module
        assert getattr(module, "LISTENS", LISTENS) is LISTENS, module


def test_process_names_are_split_only_by_parse_process_name():
    # "acceptor2".rstrip(digits) also "parses" acceptor02 and voter1: one parser decides.
    root = Path(__file__).resolve().parents[1]
    pattern = re.compile(r"""rstrip\(\s*(["'])0123456789\1|rstrip\(\s*string\.digits""")
    found = [f"{path.relative_to(root)}:{n}"
             for path in [*(root / "paxos_edu").rglob("*.py"), *(root / "tests").rglob("*.py")]
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(line) and path != Path(__file__).resolve()]
    assert found == []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("id", [0, 1, 7, 65535])
def test_process_name_round_trips(role, id):
    assert parse_process_name(process_name(role, id)) == (role, id)
    assert role_of(process_name(role, id)) == role


def test_process_name_spells_role_then_id():
    assert process_name("acceptor", 2) == "acceptor2"


@pytest.mark.parametrize("name", ["acceptor", "acceptor02", "voter1", "acceptor\u0662",
                                  "Acceptor1", "acceptor-1", "acceptor1 ", "", "1", None])
def test_parse_process_name_refuses_what_process_name_cannot_make(name):
    with pytest.raises(UsageError, match="bad process name"):
        parse_process_name(name)


@pytest.mark.parametrize("role,id", [("voter", 1), ("acceptor", -1), ("acceptor", True),
                                     ("acceptor", 1.0)])
def test_process_name_refuses_bad_parts(role, id):
    with pytest.raises(UsageError):
        process_name(role, id)


def test_role_of_accepts_a_bare_role_and_check_role_names_the_known_ones():
    assert role_of("learner") == "learner"
    with pytest.raises(UsageError, match="roles are client, proposer, acceptor, learner"):
        check_role("leader")
