"""One settings spine: config.SETTINGS checks every entry point's settings the same way."""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

import pytest

from paxos_edu import experiments
from paxos_edu.cli import int_range, setting_type
from paxos_edu.cluster import Cluster
from paxos_edu.config import (
    MIN_TIMEOUT,
    SETTINGS,
    Config,
    Settings,
    default_config,
    settings_from,
)
from paxos_edu.errors import ConfigError, SettingError, UsageError
from paxos_edu.sim import Simulation

ROOT = Path(__file__).resolve().parents[1]

# (setting, bad value, what the config file says about it)
BAD = [
    ("batch", 20000, "batch 20000 out of range 1..10000"),
    ("acceptor_count", 100, "acceptor_count 100 out of range 1..64"),
    ("timeout", 1e-300, "timeout 1e-300 out of range [0.001, 60]"),
    ("timeout", 0, "timeout 0 out of range [0.001, 60]"),
    ("loss", 1.5, "loss 1.5 out of range [0, 1)"),
    ("loss", math.nan, "loss nan out of range [0, 1)"),
    ("mode", "fast", "mode 'fast' is not one of multi, classic"),
    ("window", 0, "window 0 out of range 1..10000"),
    ("client_window", True, "client_window True is not an integer"),
    ("batch", "1_000", "batch '1_000' is not an integer (only ASCII digits 0-9)"),
]


def _message(excinfo: pytest.ExceptionInfo) -> str:
    """What is wrong, without the ``where:`` that names the entry point."""
    return str(excinfo.value).split(": ", 1)[1]


def test_setting_error_is_both_a_config_error_and_a_usage_error():
    assert issubclass(SettingError, ConfigError) and issubclass(SettingError, UsageError)


def test_settings_defaults_are_the_settings_table_and_a_config_is_settings():
    assert Settings().settings() == {name: s.default for name, s in SETTINGS.items()}
    config = default_config(batch=7)
    assert isinstance(config, Settings)
    assert config.settings()["batch"] == 7


def test_settings_from_types_text_and_names_unknown_settings():
    assert settings_from("here", batch="12", timeout="0.5").batch == 12
    with pytest.raises(SettingError, match=r"^here: unknown setting 'bach' \(did you mean batch"):
        settings_from("here", bach=3)


@pytest.mark.parametrize(("name", "value", "message"), BAD)
def test_every_entry_point_refuses_a_bad_setting_with_the_same_message(name, value, message):
    kwargs = {name: value}
    sim_kwargs = {"acceptors" if name == "acceptor_count" else name: value}
    exp_kwargs = {"acceptors" if name == "acceptor_count" else name: value, "backend": "sim"}
    cases = [
        ("Settings", lambda: Settings(**kwargs)),
        ("Config.replace", lambda: default_config().replace(**kwargs)),
        ("Simulation", lambda: Simulation(**sim_kwargs)),
        ("experiment", lambda: experiments.experiment_params(**exp_kwargs)),
    ]
    if name in ("batch", "timeout", "loss", "mode", "window", "acceptor_count"):
        cases.append(("Cluster", lambda: Cluster(launcher="spawn", **kwargs)))
    if name == "client_window":  # a Simulation and an experiment take no such name / no bool
        cases = cases[:3]
    for where, call in cases:
        with pytest.raises(SettingError) as excinfo:
            call()
        assert str(excinfo.value).startswith(f"{where}: "), excinfo.value
        assert _message(excinfo) == message, where
    if not isinstance(value, bool):  # the CLI reads the same value as text: same words
        with pytest.raises(argparse.ArgumentTypeError) as excinfo:
            setting_type(name)(str(value))
        assert f"{name} {excinfo.value}" == message


def test_simulation_refuses_what_the_config_refuses():
    with pytest.raises(SettingError, match=r"^Simulation: batch 20000 out of range 1\.\.10000$"):
        Simulation(batch=20000)
    with pytest.raises(SettingError, match=r"^Simulation: acceptor_count 100 out of range"):
        Simulation(acceptors=100)
    sim = Simulation(batch=77, timeout=MIN_TIMEOUT, seed=3)
    assert (sim.settings.batch, sim.settings.timeout) == (77, MIN_TIMEOUT)
    assert sim.process("proposer", 1).batch == 77


def test_cluster_refuses_more_acceptors_than_acceptor_count():
    with pytest.raises(UsageError, match="5 acceptors but acceptor_count 3"):
        Cluster(acceptors=5, acceptor_count=3, launcher="spawn")


@pytest.mark.parametrize("until", [-1, -0.001, math.nan, "10", None])
def test_simulation_run_refuses_a_time_that_is_not_a_number_at_least_0(until):
    with pytest.raises(UsageError, match="time only moves forward"):
        Simulation(seed=1).run(until=until)


@pytest.mark.parametrize("dt", [-1, math.nan])
def test_simulation_advance_refuses_nan_and_negative(dt):
    sim = Simulation(seed=1, manual=True)
    with pytest.raises(UsageError, match="time only moves forward"):
        sim.advance(dt)
    assert sim.now == 0.0


@pytest.mark.parametrize("timeout", [-5, math.nan, "3"])
def test_cluster_wait_refuses_a_negative_or_nan_timeout(timeout):
    with Cluster(acceptors=1, proposers=0, learners=0, clients=0) as c:
        with pytest.raises(UsageError, match=r"wait\(timeout="):
            c.wait(timeout=timeout)


@pytest.mark.parametrize("text", ["\u0661\u0662", "1_2", "\uff11", "+"])
def test_cli_integers_take_ascii_digits_only(text):
    with pytest.raises(argparse.ArgumentTypeError):
        int_range(0, 65535)(text)
    assert int_range(0, 65535)("12") == 12


@pytest.mark.parametrize("args", [["acceptor", "\u0661", "scripts/paxos.conf"],
                                  ["acceptor", "1", "scripts/paxos.conf", "--batch", "1_000"],
                                  ["proposer", "1", "scripts/paxos.conf", "--timeout", "1e-9"]])
def test_cli_refuses_bad_numbers_before_starting(args):
    done = subprocess.run([sys.executable, "-m", "paxos_edu", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 2, done.stderr
    assert "error: argument" in done.stderr


def test_config_file_refuses_non_ascii_digits_naming_file_and_line(tmp_path):
    conf = tmp_path / "paxos.conf"
    conf.write_text((ROOT / "scripts" / "paxos.conf").read_text() + "batch \u0661\u0662\n")
    lines = conf.read_text().count("\n")
    done = subprocess.run([sys.executable, "-m", "paxos_edu", "acceptor", "1", str(conf)],
                          cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"{conf}:{lines}: batch '\u0661\u0662' is not an integer "
                                   "(only ASCII digits 0-9)")


def test_config_equality_and_hash_survive_the_settings_base():
    a, b = default_config(loss=0.1), default_config(loss=0.1)
    assert a == b and hash(a) == hash(b)
    assert a != default_config(loss=0.2)
    assert isinstance(Config(a.addresses, batch=3), Config)


def test_the_simulated_network_checks_loss_like_the_config():
    sim = Simulation(seed=1)
    with pytest.raises(SettingError, match=r"^network: loss 2\.0 out of range \[0, 1\)$"):
        sim.set_network(loss=2.0, at=5.0)
    with pytest.raises(SettingError, match=r"^network: loss nan out of range"):
        sim.set_network(loss=math.nan)


def test_entry_points_take_their_defaults_from_the_settings_table():
    import inspect

    sim = inspect.signature(Simulation).parameters
    for name in ("loss", "timeout", "mode", "batch", "window", "client_window"):
        assert sim[name].default == SETTINGS[name].default, name
    for name in ("loss", "timeout", "mode"):
        assert experiments.DEFAULTS[name] == SETTINGS[name].default, name
    cluster = inspect.signature(Cluster).parameters
    for name in ("loss", "timeout", "mode", "batch", "window", "secret", "seed"):
        assert cluster[name].default is None, name  # None: the table's default
    assert Simulation(seed=1).settings.settings() == {**Settings().settings(), "seed": 1}
