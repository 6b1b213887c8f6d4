"""``walkin kiosk`` arguments: a bad one is one line on stderr and exit status 2."""

from __future__ import annotations

import pytest

from kiosk.app import main, parse_options

GOOD = ["--server", "ws://127.0.0.1:8765/ws", "--printer", "tcp://127.0.0.1:9100"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--server", "http://127.0.0.1/ws", "--printer", "none", "--token", "t"], "ws://"),
        (["--server", "ws://127.0.0.1:99999/ws", "--printer", "none", "--token", "t"], "port"),
        ([*GOOD], "token"),
        ([*GOOD[:2], "--printer", "gopher://x", "--token", "t"], "--printer"),
        ([*GOOD, "--token", "t", "--scanner", "tcp://10.0.0.1:9100"], "--scanner"),
        ([*GOOD, "--token", "t", "--language-default", "fr"], "--language-default"),
        ([*GOOD, "--token", "t", "--idle-reset", "1"], "--idle-reset"),
        (["--printer", "none", "--token", "t"], "--server"),
        (["--server", " , ", "--printer", "none", "--token", "t"], "--server"),
        (["--server", "ws://a:1/ws,b:2", "--printer", "none", "--token", "t"], "'b:2'"),
        ([*GOOD, "--token", "t", "--bogus"], "--bogus"),
    ],
)
def test_bad_arguments(argv, says, capsys, monkeypatch) -> None:
    monkeypatch.delenv("WALKIN_TOKEN", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("walkin kiosk: ") and says in err


def test_good_arguments() -> None:
    options = parse_options(
        [
            *GOOD,
            "--scanner",
            "/dev/ttyACM0",
            "--windowed",
            "--portrait",
            "--no-speech",
            "--language-default",
            "cy",
            "--speech-player",
            "aplay -q",
        ],
        environ={"WALKIN_TOKEN": "wk_secret"},
    )
    assert options.token == "wk_secret" and options.printer == "tcp://127.0.0.1:9100"
    assert not options.fullscreen and options.portrait and not options.speech
    assert options.language_default == "cy" and options.speech_player == ("aplay", "-q")
    assert parse_options([*GOOD[:2], "--printer", "none", "--token", "t"]).printer is None
    assert parse_options([*GOOD, "--token", "t"]).fullscreen
    # a centre with a standby server: both addresses, the client uses the active one
    both = ["--server", "ws://a:8765/ws, wss://b:8765/ws", "--printer", "none", "--token", "t"]
    assert parse_options(both).server == "ws://a:8765/ws,wss://b:8765/ws"
