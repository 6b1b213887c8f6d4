"""``walkin board`` arguments: every mistake is one line and exit status 2, before any
window opens."""

from __future__ import annotations

import pytest

from display_board.announcer import AudioMode
from display_board.app import main
from display_board.options import BadArguments, parse_args, websocket_url


def test_the_options() -> None:
    options = parse_args(
        [
            "--server",
            "http://10.0.0.5:8765",
            "--token",
            "wk_x",
            "--counters",
            "Counter 1, Counter 2",
            "--services",
            "housing",
            "--portrait",
            "--audio",
            "chime",
            "--languages",
            "cy,en",
            "--history",
            "8",
            "--message",
            "Hello",
        ]
    )
    assert options.server == "ws://10.0.0.5:8765/ws"
    assert options.counters == ("Counter 1", "Counter 2")
    assert options.services == ("housing",)
    assert options.audio is AudioMode.CHIME
    assert options.languages == ("cy", "en")
    assert (options.portrait, options.windowed, options.history) == (True, False, 8)


def test_the_token_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALKIN_BOARD_TOKEN", "wk_env")
    assert parse_args(["--server", "ws://h/ws"]).token == "wk_env"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("127.0.0.1:8765", "ws://127.0.0.1:8765/ws"),
        ("https://queue.example", "wss://queue.example/ws"),
        ("wss://queue.example/ws", "wss://queue.example/ws"),
    ],
)
def test_server_addresses(url: str, expected: str) -> None:
    assert websocket_url(url) == expected


def test_an_active_server_and_its_standby() -> None:
    options = parse_args(["--server", "a:8765, https://b", "--token", "t"])
    assert options.server == "ws://a:8765/ws,wss://b/ws"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ([], "--server"),
        (["--server", "ws://h/ws"], "token"),
        (["--server", "ftp://h", "--token", "t"], "ws://"),
        (["--server", "ws://h:99999", "--token", "t"], "port"),
        (["--server", "ws://h,ftp://b", "--token", "t"], "ftp://b"),
        (["--server", ",", "--token", "t"], "--server"),
        (["--server", "ws://h", "--token", "t", "--audio", "loud"], "--audio"),
        (["--server", "ws://h", "--token", "t", "--languages", "en,xx"], "xx"),
        (["--server", "ws://h", "--token", "t", "--history", "9"], "--history"),
        (["--server", "ws://h", "--token", "t", "--counters", " , "], "--counters"),
        (["--server", "ws://h", "--token", "t", "--size", "big"], "--size"),
        (["--server", "ws://h", "--token", "t", "--colour", "red"], "--colour"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WALKIN_BOARD_TOKEN", raising=False)
    with pytest.raises(BadArguments):
        parse_args(argv)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("walkin board: ") and err.count("\n") == 1 and says in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--counters" in capsys.readouterr().out


def test_screen_languages_choose_the_boards_own_words() -> None:
    from speech.board_words import board_words

    base = ["--server", "ws://h/ws", "--token", "wk_t"]
    assert parse_args(base).screen_languages == ("en",)
    welsh = parse_args([*base, "--screen-languages", "cy, en,cy"])
    assert welsh.screen_languages == ("cy", "en")
    words = board_words(welsh.screen_languages)
    assert words["now_calling"] == "Yn galw nawr / Now calling"
    assert board_words(("en",))["ticket"] == "Ticket"
    with pytest.raises(BadArguments, match="no board wording for language 'xx'"):
        parse_args([*base, "--screen-languages", "xx"])
