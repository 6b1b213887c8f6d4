"""The systemd units in deploy/systemd (issue 13 item 6): each restarts on failure,
is watched (Type=notify, WatchdogSec), is hardened, reads an EnvironmentFile, and
starts a real ``walkin`` subcommand with options that subcommand accepts. With
``systemd-analyze`` installed, systemd itself verifies them too."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
WALKIN = str(Path(sys.executable).with_name("walkin"))
INSTALLED_WALKIN = "/opt/walkin/venv/bin/walkin"
#: unit -> (the walkin subcommand, its environment file example)
EXPECTED = {
    "walkin-server@.service": ("serve", "server-riverside.env.example"),
    "walkin-kiosk.service": ("kiosk", "kiosk.env.example"),
    "walkin-board.service": ("board", "board.env.example"),
}


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """``{section: {key: [values in order]}}``: systemd's format, where a key may come
    more than once (``Environment=``) and ``#`` starts a comment line."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path.name}:{number}: {line!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def environment(service: dict[str, list[str]], env_file: Path) -> dict[str, str]:
    """The unit's ``Environment=`` defaults, overridden by its environment file (as
    systemd does: EnvironmentFile= wins)."""
    env: dict[str, str] = {}
    for assignment in service.get("Environment", []):
        for word in shlex.split(assignment):
            key, value = word.split("=", 1)
            env[key] = value
    for line in env_file.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


def exec_argv(command: str, env: dict[str, str], instance: str) -> list[str]:
    """``ExecStart=`` as systemd runs it: ``%i`` the instance, ``${VAR}`` one word,
    ``$VAR`` split at whitespace (nothing when empty)."""
    words = []
    for word in shlex.split(command.replace("%i", instance)):
        if whole := re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word):
            words.extend(env.get(whole.group(1), "").split())
            continue
        words.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env[m.group(1)], word))
    return words


@pytest.mark.parametrize("unit", sorted(EXPECTED))
def test_each_unit_restarts_is_watched_and_hardened(unit: str) -> None:
    sections = read_unit(UNITS / unit)
    service = sections["Service"]
    one = {key: values[-1] for key, values in service.items()}
    assert one["Type"] == "notify"
    assert one["NotifyAccess"] == "main"
    assert int(one["WatchdogSec"]) >= 10
    assert one["Restart"] == "on-failure"
    assert float(one["RestartSec"]) > 0
    assert one["NoNewPrivileges"] == "yes"
    assert one["ProtectSystem"] == "strict"
    assert one["PrivateTmp"] == "yes"
    assert one["CapabilityBoundingSet"] == ""
    state = "/var/lib/" + one["StateDirectory"]
    assert state in one["ReadWritePaths"].split()
    assert one["EnvironmentFile"].lstrip("-").startswith("/etc/walkin/")
    assert one["User"] and one["User"] != "root"
    assert sections["Install"]["WantedBy"]
    assert "StartLimitBurst" in sections["Unit"]


@pytest.mark.parametrize("unit", sorted(EXPECTED))
def test_exec_start_is_a_walkin_subcommand_with_options_it_accepts(
    unit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    subcommand, example = EXPECTED[unit]
    service = read_unit(UNITS / unit)["Service"]
    (command,) = service["ExecStart"]
    env = environment(service, UNITS / example)
    argv = exec_argv(command, env, "riverside")
    assert argv[:2] == [INSTALLED_WALKIN, subcommand]
    args = argv[2:]

    # the options parse, in the command's own parser
    if subcommand == "serve":
        from queue_server.cli import build_parser

        parsed = build_parser().parse_args(["serve", *args])
        assert parsed.config == "/etc/walkin/riverside.toml"
        assert parsed.role == "auto"
        assert parsed.db.startswith("postgresql://") and parsed.port == 8765
    elif subcommand == "kiosk":
        from kiosk.app import parse_options

        options = parse_options(args, environ=env)
        assert options.token == env["WALKIN_TOKEN"] and options.printer == "/dev/ttyUSB0"
    else:
        from display_board.options import parse_args

        monkeypatch.setenv("WALKIN_BOARD_TOKEN", env["WALKIN_BOARD_TOKEN"])
        parse_args(args)

    # and the installed command knows each of them (the real process's --help)
    helped = subprocess.run(
        [WALKIN, subcommand, "--help"], capture_output=True, text=True, timeout=120
    )
    assert helped.returncode == 0, helped.stderr
    for option in (a.split("=")[0] for a in args if a.startswith("--")):
        assert option in helped.stdout, (subcommand, option)


def test_the_server_unit_is_one_instance_per_centre_with_its_own_files() -> None:
    service = read_unit(UNITS / "walkin-server@.service")["Service"]
    (command,) = service["ExecStart"]
    assert "--config /etc/walkin/%i.toml" in command
    assert "--role auto" in command  # the same unit is the active or the standby
    assert service["EnvironmentFile"] == ["-/etc/walkin/server-%i.env"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_verifies_the_units(tmp_path: Path) -> None:
    """``systemd-analyze verify`` on copies whose ExecStart is this checkout's walkin
    (it checks the program exists) and an instance of the template."""
    for unit in EXPECTED:
        text = (UNITS / unit).read_text().replace(INSTALLED_WALKIN, WALKIN)
        (tmp_path / unit).write_text(text)
    (tmp_path / "walkin-server@riverside.service").symlink_to("walkin-server@.service")
    names = ["walkin-server@riverside.service", "walkin-kiosk.service", "walkin-board.service"]
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout + verified.stderr == ""
