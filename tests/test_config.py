"""The course config file: format, every validation rule, round trip and replace."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paxos_edu.config import (
    ROLES,
    SETTINGS,
    Config,
    default_config,
    load_config,
    parse_config,
)
from paxos_edu.errors import ConfigError, UsageError
from paxos_edu.messages import Group

EXAMPLE = Path(__file__).resolve().parent.parent / "scripts" / "paxos.conf"

ROLE_LINES = """\
clients 239.0.0.1 5000
proposers 239.0.0.1 6000
acceptors 239.0.0.1 7000
learners 239.0.0.1 8000
"""

COURSE_ADDRESSES = {
    Group.CLIENTS: ("239.0.0.1", 5000),
    Group.PROPOSERS: ("239.0.0.1", 6000),
    Group.ACCEPTORS: ("239.0.0.1", 7000),
    Group.LEARNERS: ("239.0.0.1", 8000),
}


def config_error(text: str, path: str = "paxos.conf") -> str:
    """The message of the ConfigError that parsing ``text`` raises."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, path)
    return str(info.value)


# ---------------------------------------------------------------- the format


def test_course_example_file_loads():
    config = load_config(EXAMPLE)
    assert config.addresses == COURSE_ADDRESSES
    assert config.path == str(EXAMPLE)
    assert config == Config(COURSE_ADDRESSES)  # every setting at its default


def test_course_example_settings_parse_when_uncommented():
    text = EXAMPLE.read_text()
    names = "|".join(SETTINGS)
    uncommented = re.sub(rf"^# ((?:{names}) .*)$", r"\1", text, flags=re.M)
    config = parse_config(uncommented, "paxos.conf")
    changed = {name for name in SETTINGS if getattr(config, name) != SETTINGS[name].default}
    assert {"loss", "timeout", "mode", "secret", "seed"} <= changed
    assert config.secret == "my shared text"


def test_config_without_settings_has_defaults():
    config = parse_config(ROLE_LINES)
    for name, setting in SETTINGS.items():
        assert getattr(config, name) == setting.default
    assert config.path is None


def test_config_skips_blank_lines_and_comments():
    text = "\n# course config\n\n   # indented comment\n" + ROLE_LINES.replace(
        "7000\n", "7000   # the acceptors\n"
    )
    text += "\nloss 0.5 # half\n\t\n#loss 0.9\n"
    config = parse_config(text)
    assert config.address(Group.ACCEPTORS) == ("239.0.0.1", 7000)
    assert config.loss == 0.5


def test_config_accepts_tabs_extra_spaces_and_crlf():
    text = "clients\t239.0.0.1\t5000\r\n  proposers   239.0.0.1  6000  \r\n"
    text += "acceptors 239.0.0.1 7000\r\nlearners 239.0.0.1 8000\r\ntimeout\t0.5\r\n"
    config = parse_config(text)
    assert config.addresses == COURSE_ADDRESSES
    assert config.timeout == 0.5


def test_config_hash_inside_a_word_is_not_a_comment():
    config = parse_config(ROLE_LINES + "secret pass#word with spaces  # a comment\n")
    assert config.secret == "pass#word with spaces"


def test_config_lines_may_come_in_any_order():
    lines = ROLE_LINES.splitlines()
    text = "\n".join(["batch 8", *reversed(lines), "window 4"])
    config = parse_config(text)
    assert config.addresses == COURSE_ADDRESSES
    assert (config.batch, config.window) == (8, 4)


# ---------------------------------------------------------------- role lines


def test_config_rejects_unicast_group_address():
    text = ROLE_LINES.replace("acceptors 239.0.0.1", "acceptors 10.0.0.1")
    assert config_error(text) == "paxos.conf:3: 10.0.0.1 is not a multicast address (224.0.0.0/4)"


@pytest.mark.parametrize("ip", ["239.0.0", "239.0.0.256", "localhost", "ff02::1", "239.0.0.01"])
def test_config_rejects_group_that_is_not_an_ipv4_address(ip):
    text = ROLE_LINES.replace("learners 239.0.0.1", f"learners {ip}")
    assert config_error(text) == f"paxos.conf:4: {ip!r} is not an IPv4 address"


@pytest.mark.parametrize("ip", ["224.0.0.1", "239.255.255.255", "230.1.2.3"])
def test_config_accepts_any_ipv4_multicast_group(ip):
    config = parse_config(ROLE_LINES.replace("clients 239.0.0.1", f"clients {ip}"))
    assert config.address(Group.CLIENTS) == (ip, 5000)


@pytest.mark.parametrize("ip", ["223.255.255.255", "240.0.0.1", "127.0.0.1", "0.0.0.0"])
def test_config_rejects_addresses_just_outside_multicast_range(ip):
    text = ROLE_LINES.replace("clients 239.0.0.1", f"clients {ip}")
    assert "is not a multicast address" in config_error(text)


def test_config_rejects_port_out_of_range():
    text = ROLE_LINES.replace("5000", "70000")
    assert config_error(text) == "paxos.conf:1: port 70000 out of range 1..65535"


@pytest.mark.parametrize("port", ["0", "-1", "65536"])
def test_config_rejects_port_outside_1_to_65535(port):
    text = ROLE_LINES.replace("6000", port)
    assert config_error(text) == f"paxos.conf:2: port {int(port)} out of range 1..65535"


@pytest.mark.parametrize("port", ["1", "65535"])
def test_config_accepts_port_bounds(port):
    config = parse_config(ROLE_LINES.replace("6000", port))
    assert config.address(Group.PROPOSERS) == ("239.0.0.1", int(port))


@pytest.mark.parametrize("port", ["http", "80.5", "0x50"])
def test_config_rejects_port_that_is_not_an_integer(port):
    text = ROLE_LINES.replace("8000", port)
    assert config_error(text) == f"paxos.conf:4: port {port!r} is not an integer"


@pytest.mark.parametrize("rest", ["", "239.0.0.1", "239.0.0.1 7000 extra"])
def test_config_rejects_role_line_without_exactly_ip_and_port(rest):
    text = ROLE_LINES.replace("acceptors 239.0.0.1 7000", f"acceptors {rest}")
    message = config_error(text)
    assert message.startswith("paxos.conf:3: acceptors needs '<ip> <port>'")


def test_config_rejects_duplicate_role_line():
    text = ROLE_LINES + "\n# again\nacceptors 239.0.0.2 7001\n"
    assert config_error(text) == "paxos.conf:7: duplicate acceptors line (first on line 3)"


@pytest.mark.parametrize("role", ROLES)
def test_config_rejects_missing_role(role):
    text = "".join(line + "\n" for line in ROLE_LINES.splitlines() if not line.startswith(role))
    message = config_error(text, "course.conf")
    assert message.startswith("course.conf: missing role line for ")
    assert role in message
    assert not re.match(r"course\.conf:\d", message)


def test_config_names_every_missing_role():
    message = config_error("clients 239.0.0.1 5000\nloss 0.1\n")
    assert message.startswith("paxos.conf: missing role lines for proposers, acceptors, learners")


def test_config_rejects_empty_file():
    assert "missing role lines" in config_error("")


# ---------------------------------------------------------------- names


def test_config_rejects_unknown_setting_and_suggests_the_closest():
    message = config_error(ROLE_LINES + "lose 0.1\n")
    assert message == "paxos.conf:5: unknown setting or role 'lose' (did you mean loss?)"


def test_config_rejects_unknown_role():
    message = config_error(ROLE_LINES + "leaders 239.0.0.1 9000\n")
    assert message.startswith("paxos.conf:5: unknown setting or role 'leaders'")


def test_config_names_are_case_sensitive():
    text = ROLE_LINES.replace("clients", "Clients")
    assert config_error(text) == (
        "paxos.conf:1: unknown setting or role 'Clients' (did you mean clients?)"
    )


def test_config_rejects_fields_that_are_not_settings():
    assert "unknown setting or role 'path'" in config_error(ROLE_LINES + "path x\n")


# ---------------------------------------------------------------- settings


GOOD_SETTINGS = [
    ("loss", "0", 0.0),
    ("loss", "0.25", 0.25),
    ("loss", "0.999", 0.999),
    ("timeout", "0.001", 0.001),
    ("timeout", "60", 60.0),
    ("timeout", "1e-3", 0.001),
    ("mode", "multi", "multi"),
    ("mode", "classic", "classic"),
    ("batch", "1", 1),
    ("batch", "10000", 10000),
    ("window", "1", 1),
    ("window", "10000", 10000),
    ("secret", "s3cret", "s3cret"),
    ("secret", "two  words\tand tab", "two  words\tand tab"),
    ("ttl", "0", 0),
    ("ttl", "255", 255),
    ("interface", "127.0.0.1", "127.0.0.1"),
    ("interface", "192.168.1.20", "192.168.1.20"),
    ("seed", "42", 42),
    ("seed", "-7", -7),
    ("acceptor_count", "1", 1),
    ("acceptor_count", "64", 64),
    ("client_window", "1", 1),
    ("client_window", "4096", 4096),
]


@pytest.mark.parametrize(("name", "text", "value"), GOOD_SETTINGS)
def test_config_accepts_setting_in_range(name, text, value):
    config = parse_config(ROLE_LINES + f"{name} {text}\n")
    assert getattr(config, name) == value
    assert type(getattr(config, name)) is type(value)


BAD_SETTINGS = [
    ("loss", "1", "loss 1 out of range [0, 1)"),
    ("loss", "-0.1", "loss -0.1 out of range [0, 1)"),
    ("loss", "nan", "loss nan out of range [0, 1)"),
    ("loss", "lots", "loss 'lots' is not a number"),
    ("timeout", "0", "timeout 0 out of range [0.001, 60]"),
    ("timeout", "1e-300", "timeout 1e-300 out of range [0.001, 60]"),
    ("timeout", "0.0009", "timeout 0.0009 out of range [0.001, 60]"),
    ("timeout", "60.5", "timeout 60.5 out of range [0.001, 60]"),
    ("timeout", "inf", "timeout inf out of range [0.001, 60]"),
    ("timeout", "-1", "timeout -1 out of range [0.001, 60]"),
    ("batch", "١٢", "batch '١٢' is not an integer (only ASCII digits 0-9)"),
    ("batch", "1_000", "batch '1_000' is not an integer (only ASCII digits 0-9)"),
    ("window", "８", "window '８' is not an integer (only ASCII digits 0-9)"),
    ("loss", "0.١", "loss '0.١' is not a number (only ASCII digits 0-9)"),
    ("timeout", "0.1_0", "timeout '0.1_0' is not a number (only ASCII digits 0-9)"),
    ("mode", "paxos", "mode 'paxos' is not one of multi, classic"),
    ("mode", "Multi", "mode 'Multi' is not one of multi, classic"),
    ("batch", "0", "batch 0 out of range 1..10000"),
    ("batch", "10001", "batch 10001 out of range 1..10000"),
    ("batch", "2.5", "batch '2.5' is not an integer"),
    ("window", "0", "window 0 out of range 1..10000"),
    ("window", "10001", "window 10001 out of range 1..10000"),
    ("ttl", "256", "ttl 256 out of range 0..255"),
    ("ttl", "-1", "ttl -1 out of range 0..255"),
    ("interface", "eth0", "interface 'eth0' is not an IPv4 address"),
    (
        "interface",
        "239.0.0.1",
        "interface 239.0.0.1 is a multicast group, not an interface address",
    ),
    ("seed", "random", "seed 'random' is not an integer"),
    ("acceptor_count", "0", "acceptor_count 0 out of range 1..64"),
    ("acceptor_count", "65", "acceptor_count 65 out of range 1..64"),
    ("client_window", "0", "client_window 0 out of range 1..1000000"),
    ("storage", "a\0b", "storage 'a\\x00b': a directory path here has no blanks and does "
     "not start with '#'"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_SETTINGS)
def test_config_rejects_setting_out_of_range(name, text, message):
    assert config_error(ROLE_LINES + f"{name} {text}\n") == f"paxos.conf:5: {message}"


def test_config_bad_values_cover_every_numeric_setting():
    assert {name for name, _, _ in BAD_SETTINGS} == set(SETTINGS) - {"secret"}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_config_rejects_setting_without_value(name):
    message = config_error(ROLE_LINES + f"{name}   # nothing\n")
    assert message == f"paxos.conf:5: {name} needs a value"


@pytest.mark.parametrize("name", sorted(set(SETTINGS) - {"secret"}))
def test_config_rejects_setting_with_two_values(name):
    message = config_error(ROLE_LINES + f"{name} 1 2\n")
    assert message == f"paxos.conf:5: {name} takes one value, got '1 2'"


def test_config_rejects_duplicate_setting_line():
    message = config_error(ROLE_LINES + "loss 0.1\nloss 0.2\n")
    assert message == "paxos.conf:6: duplicate loss line (first on line 5)"


def test_config_error_line_numbers_count_blank_and_comment_lines():
    text = "# header\n\n" + ROLE_LINES + "\n# settings\nttl 300\n"
    assert config_error(text).startswith("paxos.conf:9: ttl 300")


def test_config_error_names_the_given_path():
    assert config_error(ROLE_LINES + "ttl x\n", "labs/lab1.conf").startswith("labs/lab1.conf:5:")


# ---------------------------------------------------------------- load_config


def test_load_config_names_missing_file(tmp_path):
    path = tmp_path / "nope.conf"
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_config(path)


def test_load_config_names_unreadable_path(tmp_path):
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path))):
        load_config(tmp_path)  # a directory


def test_load_config_rejects_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.conf"
    path.write_bytes(ROLE_LINES.encode() + "secret clé\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=re.escape(f"{path}: not UTF-8")):
        load_config(path)


def test_load_config_errors_name_file_and_line(tmp_path):
    path = tmp_path / "paxos.conf"
    path.write_text(ROLE_LINES + "batch 0\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:5: batch 0 out of range 1..10000"


def test_load_config_accepts_utf8_bom_and_keeps_path(tmp_path):
    path = tmp_path / "bom.conf"
    path.write_bytes(b"\xef\xbb\xbf" + ROLE_LINES.encode() + "secret clé\n".encode())
    config = load_config(str(path))
    assert config.secret == "clé"
    assert config.path == str(path)


# ---------------------------------------------------------------- round trip


def valid_secret(text: str) -> bool:
    try:
        SETTINGS["secret"].parse(text)
    except ValueError:
        return False
    return True


def setting_values(name: str):
    """Hypothesis strategy of valid values of setting ``name``."""
    if name == "secret":
        # Any text the validator accepts must survive to_text -> parse_config.
        text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20)
        return st.one_of(st.none(), text.filter(valid_secret))
    return {
        "loss": st.floats(0.0, 1.0, exclude_max=True),
        "timeout": st.floats(0.001, 60.0),
        "mode": st.sampled_from(["multi", "classic"]),
        "batch": st.integers(1, 10000),
        "window": st.integers(1, 10000),
        "ttl": st.integers(0, 255),
        "interface": st.ip_addresses(v=4).filter(lambda a: not a.is_multicast).map(str),
        "seed": st.one_of(st.none(), st.integers(-(2**64), 2**64)),
        "acceptor_count": st.integers(1, 64),
        "client_window": st.integers(1, 1_000_000),
        "storage": st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_./-]{1,20}", fullmatch=True)
                             .filter(lambda p: not p.startswith("#"))),
    }[name]


groups = st.tuples(st.ip_addresses(v=4, network="224.0.0.0/4").map(str), st.integers(1, 65535))
configs = st.builds(
    Config,
    st.fixed_dictionaries({group: groups for group in Group}),
    **{name: setting_values(name) for name in SETTINGS},
)


@settings(max_examples=300)
@given(configs)
def test_to_text_reads_back_equal(config):
    assert parse_config(config.to_text()) == config


def test_to_text_of_defaults_lists_only_role_lines():
    text = Config(COURSE_ADDRESSES).to_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert [line.split()[0] for line in lines] == list(ROLES)


def test_config_equality_ignores_path():
    assert load_config(EXAMPLE) == parse_config(ROLE_LINES)
    assert hash(load_config(EXAMPLE)) == hash(parse_config(ROLE_LINES))


# ---------------------------------------------------------------- Config API


def test_config_is_frozen():
    config = parse_config(ROLE_LINES)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.loss = 0.5  # type: ignore[misc]


def test_config_address_by_group_or_role_name():
    config = parse_config(ROLE_LINES)
    assert config.address(Group.LEARNERS) == ("239.0.0.1", 8000)
    assert config.address("proposers") == ("239.0.0.1", 6000)
    with pytest.raises(UsageError):
        config.address("leaders")


@pytest.mark.parametrize(("count", "quorum"), [(1, 1), (3, 2), (4, 3), (5, 3)])
def test_config_quorum_is_a_majority_of_acceptor_count(count, quorum):
    assert parse_config(ROLE_LINES + f"acceptor_count {count}\n").quorum == quorum


def test_config_constructor_validates_addresses():
    addresses = dict(COURSE_ADDRESSES)
    addresses[Group.ACCEPTORS] = ("10.0.0.1", 7000)
    with pytest.raises(ConfigError, match="acceptors.*not a multicast address"):
        Config(addresses)


def test_config_constructor_rejects_missing_role():
    addresses = dict(COURSE_ADDRESSES)
    del addresses[Group.LEARNERS]
    with pytest.raises(ConfigError, match="missing role learners"):
        Config(addresses)


def test_config_constructor_copies_addresses():
    addresses = dict(COURSE_ADDRESSES)
    config = Config(addresses)
    addresses[Group.CLIENTS] = ("239.9.9.9", 1)
    assert config.address(Group.CLIENTS) == ("239.0.0.1", 5000)


def test_replace_returns_changed_copy_keeping_path():
    config = load_config(EXAMPLE)
    changed = config.replace(loss=0.2, mode="classic")
    assert (changed.loss, changed.mode) == (0.2, "classic")
    assert config.loss == 0.0
    assert changed.path == config.path


def test_replace_accepts_command_line_text():
    config = parse_config(ROLE_LINES).replace(loss="0.3", batch="8", seed="5")
    assert (config.loss, config.batch, config.seed) == (0.3, 8, 5)


def test_replace_can_clear_optional_settings():
    config = parse_config(ROLE_LINES + "secret x\nseed 1\n").replace(secret=None, seed=None)
    assert (config.secret, config.seed) == (None, None)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"loss": 1.0}, "Config.replace: loss 1.0 out of range [0, 1)"),
        ({"timeout": 0}, "Config.replace: timeout 0 out of range [0.001, 60]"),
        ({"batch": 2.0}, "Config.replace: batch 2.0 is not an integer"),
        ({"window": True}, "Config.replace: window True is not an integer"),
        ({"mode": "fast"}, "Config.replace: mode 'fast' is not one of multi, classic"),
        ({"ttl": 256}, "Config.replace: ttl 256 out of range 0..255"),
        ({"acceptor_count": 0}, "Config.replace: acceptor_count 0 out of range 1..64"),
        ({"interface": "nowhere"}, "Config.replace: interface 'nowhere' is not an IPv4 address"),
        ({"secret": ""}, "Config.replace: secret is empty"),
        ({"secret": " padded"}, "Config.replace: secret must not start or end with whitespace"),
        ({"secret": "a\nb"}, "Config.replace: secret must be a single line"),
        ({"secret": "a #b"}, "Config.replace: secret must not contain '#' after whitespace"),
        ({"seed": "x"}, "Config.replace: seed 'x' is not an integer"),
        ({"lose": 0.1}, "Config.replace: unknown setting 'lose' (did you mean loss?)"),
    ],
)
def test_replace_validates_like_the_file(changes, message):
    with pytest.raises(ConfigError) as info:
        parse_config(ROLE_LINES).replace(**changes)
    assert str(info.value).startswith(message)


def test_replace_validates_new_addresses():
    addresses = dict(COURSE_ADDRESSES)
    addresses[Group.CLIENTS] = ("239.0.0.1", 0)
    with pytest.raises(ConfigError, match="port 0 out of range"):
        parse_config(ROLE_LINES).replace(addresses=addresses)


# ---------------------------------------------------------------- SETTINGS and defaults


def test_settings_table_matches_config_defaults():
    fields = {f.name: f.default for f in dataclasses.fields(Config)}
    assert set(SETTINGS) == set(fields) - {"addresses", "path"}
    for name, (parse, default, help_text) in SETTINGS.items():
        assert fields[name] == default
        assert parse(default) == default
        assert help_text and "\n" not in help_text


def test_default_config_stays_on_this_host():
    config = default_config()
    assert (config.interface, config.ttl) == ("127.0.0.1", 0)
    assert len(set(config.addresses.values())) == 4


def test_default_config_uses_four_ports_from_base_port():
    config = default_config(base_port=42000, group_prefix="239.1.2")
    assert config.addresses == {
        Group.CLIENTS: ("239.1.2.1", 42000),
        Group.PROPOSERS: ("239.1.2.2", 42001),
        Group.ACCEPTORS: ("239.1.2.3", 42002),
        Group.LEARNERS: ("239.1.2.4", 42003),
    }


def test_default_config_applies_and_validates_settings():
    assert default_config(loss=0.1, acceptor_count=5).quorum == 3
    with pytest.raises(ConfigError, match="loss"):
        default_config(loss=2)


@pytest.mark.parametrize(("base_port", "prefix"), [(65534, "239.0.0"), (5000, "10.0.0")])
def test_default_config_rejects_bad_ports_or_groups(base_port, prefix):
    with pytest.raises(ConfigError):
        default_config(base_port=base_port, group_prefix=prefix)


def test_storage_setting_is_a_directory_read_from_a_line_or_an_override(tmp_path):
    text = default_config().to_text() + "storage state/acceptors\n"
    assert parse_config(text).storage == "state/acceptors"
    assert default_config().storage is None
    assert default_config(storage=tmp_path).storage == str(tmp_path)
    for bad in ("two words", "", "#x"):
        with pytest.raises(ConfigError, match="storage"):
            default_config(storage=bad)
