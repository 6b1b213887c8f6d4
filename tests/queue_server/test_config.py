from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from queue_server.config import ConfigError, Problem, load_config, parse_config
from queue_server.core.model import Policy

EXAMPLE = Path(__file__).parents[2] / "examples" / "centre.toml"
LONDON = ZoneInfo("Europe/London")


def example_with(*edits: tuple[str, str]) -> str:
    """The example file's text with each (old, new) replaced; old must occur exactly once."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the example"
        text = text.replace(old, new)
    return text


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="centre.toml")
    return str(caught.value).splitlines()


# ------------------------------------------------------------- the example


def test_example_loads_with_its_services_counters_and_hours() -> None:
    config = load_config(EXAMPLE)
    setup = config.to_setup()

    assert setup.centre_id == "demo"
    assert setup.name == "Riverside Customer Service Centre"
    assert setup.tz == LONDON
    assert setup.languages == ("en", "cy", "pl", "ro", "ur", "ar")
    assert [s.prefix for s in setup.services] == ["H", "C", "P", "B", "L", "W", "E", "G"]
    assert len(setup.counters) == 6
    assert config.warnings == []

    housing = setup.services[0]
    assert housing.code == "housing"
    assert housing.target_wait == timedelta(minutes=20)
    assert housing.typical_duration == timedelta(minutes=15)
    assert housing.online_url is None
    assert setup.services[2].online_url == "https://www.example.gov.uk/parking-permits"

    counter = setup.counters[2]
    assert counter.name == "Counter 3"
    assert counter.primary == {"council_tax", "parking"}
    assert counter.secondary == {"electoral", "waste"}
    for service in setup.services:
        assert any(c.skilled_for(service.code) for c in setup.counters), service.code

    nine_to_five = ((time(9), time(17)),)
    assert setup.hours.weekly == (
        nine_to_five,
        nine_to_five,
        ((time(9), time(13)), (time(14), time(17))),
        ((time(9), time(19)),),
        nine_to_five,
        ((time(9), time(12)),),
        (),
    )
    assert date(2026, 12, 25) in setup.hours.closed_dates
    assert not setup.hours.always_open
    assert setup.policy == Policy()


def test_example_keeps_what_only_the_edges_need() -> None:
    config = load_config(EXAMPLE)

    assert config.urls.ticket_status_url("t-42") == "https://queue.example.gov.uk/t/t-42"
    assert config.urls.ticket_status_url("a/b c") == "https://queue.example.gov.uk/t/a%2Fb%20c"
    assert config.services[0].icon == "home"
    assert config.service_name("housing", "cy") == "Tai a budd-daliadau"
    assert config.service_name("housing", "ur") == "Housing and benefits"  # no translation
    assert config.kiosk.idle_reset_seconds == 60
    with pytest.raises(KeyError):
        config.service_name("dog_licences", "en")


@pytest.mark.parametrize(
    ("utc", "is_open"),
    [
        # Tuesdays, 09:00-17:00 local. In July London is on BST (UTC+1) ...
        (datetime(2026, 7, 7, 7, 59, tzinfo=UTC), False),  # 08:59 BST
        (datetime(2026, 7, 7, 8, 0, tzinfo=UTC), True),  # 09:00 BST
        (datetime(2026, 7, 7, 15, 59, tzinfo=UTC), True),  # 16:59 BST
        (datetime(2026, 7, 7, 16, 0, tzinfo=UTC), False),  # 17:00 BST
        # ... and in January on GMT (UTC+0)
        (datetime(2026, 1, 13, 8, 30, tzinfo=UTC), False),  # 08:30 GMT
        (datetime(2026, 1, 13, 9, 0, tzinfo=UTC), True),  # 09:00 GMT
        (datetime(2026, 1, 13, 16, 30, tzinfo=UTC), True),  # 16:30 GMT
        # Wednesday's split day, Thursday's late opening, Saturday morning, Sunday
        (datetime(2026, 7, 8, 12, 30, tzinfo=UTC), False),  # 13:30 BST, lunch
        (datetime(2026, 7, 8, 13, 0, tzinfo=UTC), True),  # 14:00 BST
        (datetime(2026, 7, 9, 17, 30, tzinfo=UTC), True),  # Thursday 18:30 BST
        (datetime(2026, 7, 11, 10, 30, tzinfo=UTC), True),  # Saturday 11:30 BST
        (datetime(2026, 7, 11, 11, 30, tzinfo=UTC), False),  # Saturday 12:30 BST
        (datetime(2026, 7, 12, 10, 0, tzinfo=UTC), False),  # Sunday
        # a bank holiday (Christmas Day 2026 is a Friday)
        (datetime(2026, 12, 25, 10, 0, tzinfo=UTC), False),
        (datetime(2026, 12, 24, 10, 0, tzinfo=UTC), True),
    ],
)
def test_opening_hours_follow_local_time(utc: datetime, is_open: bool) -> None:
    hours = load_config(EXAMPLE).to_setup().hours
    assert hours.is_open(utc.astimezone(LONDON)) is is_open


def test_always_open_and_defaults() -> None:
    text = """
        [centre]
        id = "test-centre"
        name = "Test"
        time_zone = "Europe/London"
        [hours]
        always_open = true
        [[services]]
        code = "general"
        name = "General enquiries"
        prefix = "G"
        target_wait_minutes = 10
        [[counters]]
        name = "Desk"
        primary = ["general"]
        [policy]
        max_recalls = 1
        checkin_early_minutes = 45
    """
    setup = parse_config(text).to_setup()

    assert setup.hours.always_open
    assert setup.languages == ("en",)
    assert setup.services[0].typical_duration == timedelta(minutes=8)
    assert setup.policy == Policy(max_recalls=1, checkin_early=timedelta(minutes=45))


# ------------------------------------------------------------- mistakes


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            ('prefix = "P"\n', ""),
            "centre.toml: services[2].prefix: required key is missing",
            id="missing key",
        ),
        pytest.param(
            ('prefix = "P"', 'prefx = "P"'),
            'centre.toml: services[2].prefx: unknown key; did you mean "prefix"?',
            id="unknown key",
        ),
        pytest.param(
            ("[kiosk]\nidle", "[kiosks]\nidle"),
            'centre.toml: kiosks: unknown key; did you mean "kiosk"?',
            id="unknown table",
        ),
        pytest.param(
            ('prefix = "P"', 'prefix = "hb"'),
            'centre.toml: services[2].prefix: must be one capital letter, got "hb"',
            id="bad prefix",
        ),
        pytest.param(
            ('prefix = "P"', 'prefix = "H"'),
            'centre.toml: services[2].prefix: "H" is already used by services[0] (housing)',
            id="duplicate prefix",
        ),
        pytest.param(
            ('code = "parking"', 'code = "housing"'),
            'centre.toml: services[2].code: "housing" is already used by services[0]',
            id="duplicate code",
        ),
        pytest.param(
            ('primary = ["planning"]', 'primary = ["planing"]'),
            'centre.toml: counters[3].primary[0]: "planing" is not a service code;'
            ' did you mean "planning"?',
            id="unknown skill",
        ),
        pytest.param(
            ('secondary = ["licensing"]', 'secondary = ["planning"]'),
            'centre.toml: counters[3].secondary: "planning" is also in primary',
            id="primary and secondary",
        ),
        pytest.param(
            ('name = "Counter 6"', 'name = "Counter 5"'),
            'centre.toml: counters[5].name: "Counter 5" is already used by counters[4]',
            id="duplicate counter",
        ),
        pytest.param(
            [
                ('primary = ["general", "electoral"]', 'primary = ["general"]'),
                ('secondary = ["electoral", "waste"]', 'secondary = ["waste"]'),
            ],
            'centre.toml: services[6]: no counter is skilled for "electoral"',
            id="uncovered service",
        ),
        pytest.param(
            ('time_zone = "Europe/London"', 'time_zone = "Europe/Londn"'),
            "centre.toml: centre.time_zone: is not a known IANA time zone",
            id="bad time zone",
        ),
        pytest.param(
            ('monday = ["09:00-17:00"]', 'monday = ["09:00-25:00"]'),
            'centre.toml: hours.monday[0]: "25:00" is not a time of day as HH:MM',
            id="bad time",
        ),
        pytest.param(
            ('friday = ["09:00-17:00"]', 'friday = ["17:00-09:00"]'),
            'centre.toml: hours.friday[0]: must start before it ends, got "17:00-09:00"',
            id="backwards range",
        ),
        pytest.param(
            ('"09:00-13:00", "14:00-17:00"', '"09:00-13:00", "12:30-17:00"'),
            'centre.toml: hours.wednesday: "09:00-13:00" overlaps "12:30-17:00"',
            id="overlapping hours",
        ),
        pytest.param(
            ("2027-01-01,", '"2027-13-01",'),
            'centre.toml: hours.closed_dates[2]: must be a date like 2025-12-25, got "2027-13-01"',
            id="bad closed date",
        ),
        pytest.param(
            ("target_wait_minutes = 20", "target_wait_minutes = -5"),
            "centre.toml: services[0].target_wait_minutes: must be greater than 0, got -5",
            id="negative target",
        ),
        pytest.param(
            ("target_wait_minutes = 20", 'target_wait_minutes = "20"'),
            'centre.toml: services[0].target_wait_minutes: must be a valid integer, got "20"',
            id="quoted number",
        ),
        pytest.param(
            ('"ur", "ar"]', '"ur", "Arabic"]'),
            "centre.toml: centre.languages[5]: must be a 2 or 3 letter ISO 639 language code"
            ' like en or cy, got "Arabic"',
            id="bad language",
        ),
        pytest.param(
            ('languages = ["en", ', "languages = ["),
            'centre.toml: centre.languages: must include "en"',
            id="no English",
        ),
        pytest.param(
            ('id = "demo"', 'id = "Demo Centre"'),
            "centre.toml: centre.id: must be lower-case letters and digits",
            id="bad centre id",
        ),
        pytest.param(
            ("/t/{ticket_id}", "/t/{ticket}"),
            "centre.toml: urls.ticket_status: must contain {ticket_id}",
            id="bad status template",
        ),
        pytest.param(
            ('"https://www.example.gov.uk/council-tax"', '"www.example.gov.uk/council-tax"'),
            "centre.toml: services[1].online_url: must be a web address starting https://",
            id="bad online url",
        ),
        pytest.param(
            ("appointment_protect_slack_minutes = 5", "appointment_protect_slack_minutes = 11"),
            "centre.toml: policy: appointment_protect_slack_minutes must not exceed"
            " appointment_standard_minutes",
            id="slack over standard",
        ),
        pytest.param(
            ('cy = "Trwyddedau parcio"', 'Polish = "Trwyddedau parcio"'),
            'centre.toml: services[2].names: "Polish" is not a 2 or 3 letter ISO 639 language code',
            id="bad translation language",
        ),
        pytest.param(
            ('cy = "Trwyddedau parcio"', 'en = "Parking"'),
            'centre.toml: services[2].names: "en" is not a translation: the English name is'
            " the service's name",
            id="English among the translations",
        ),
        pytest.param(
            ("secondary_margin = 1.0", "secondary_margin = inf"),
            "centre.toml: policy.secondary_margin: must be a finite number",
            id="infinite margin",
        ),
        pytest.param(
            ("max_recalls = 3", "max_recalls = true"),
            "centre.toml: policy.max_recalls: must be a valid integer",
            id="boolean for number",
        ),
        pytest.param(
            ('routing = "standards"', 'routing = "fastest"'),
            "centre.toml: policy.routing: must name a routing policy,"
            ' "rules", "fifo" or "standards", got "fastest"',
            id="unknown routing policy",
        ),
    ],
)
def test_each_mistake_names_its_key(
    edit: tuple[str, str] | list[tuple[str, str]], expected: str
) -> None:
    problems = problems_of(example_with(*(edit if isinstance(edit, list) else [edit])))
    assert any(line.startswith(expected) for line in problems), problems


@pytest.mark.parametrize("name", ["standards", "rules", "fifo"])
def test_routing_policy_is_chosen_by_name(name: str) -> None:
    text = example_with(('routing = "standards"', f'routing = "{name}"'))
    assert parse_config(text).to_setup().policy.routing == name


def test_routing_policy_defaults_to_standards() -> None:
    """The example names the default; a file without the key gets the same."""
    assert load_config(EXAMPLE).to_setup().policy.routing == "standards"
    text = example_with(('routing = "standards"\n', ""))
    assert "routing =" not in text
    assert parse_config(text).to_setup().policy.routing == "standards" == Policy().routing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[centre]\nid = "demo"\nname "Riverside"\n',
            "centre.toml: line 3, column 6: TOML syntax error: expected '=' after a key"
            " in a key/value pair",
        ),
        (
            '[centre]\nname = "Riverside\n',
            "centre.toml: line 2, column 18: TOML syntax error: illegal character '\\n'",
        ),
        (
            '[hours]\nmonday = ["09:00-17:00"\n',
            "centre.toml: end of document: TOML syntax error: unclosed array",
        ),
    ],
)
def test_broken_toml_gives_line_and_column(text: str, expected: str) -> None:
    assert problems_of(text) == [expected]


def test_every_problem_is_reported_at_once() -> None:
    text = example_with(
        ('prefix = "P"', 'prefix = "pp"'),
        ("target_wait_minutes = 30", "target_wait_minutes = 0"),
        ('time_zone = "Europe/London"', 'time_zone = "Mars/Olympus"'),
    )
    problems = problems_of(text)

    assert [p.split(":")[1].strip() for p in problems] == [
        "centre.time_zone",
        "services[2].prefix",
        "services[3].target_wait_minutes",
    ]
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert caught.value.source == "<string>"
    assert caught.value.problems[0] == Problem(
        "centre.time_zone",
        'is not a known IANA time zone (e.g. Europe/London), got "Mars/Olympus"',
    )


def test_an_empty_file_lists_the_required_tables() -> None:
    assert problems_of("") == [
        f"centre.toml: {table}: required key is missing"
        for table in ("centre", "hours", "services", "counters")
    ]


def test_a_centre_that_never_opens_is_refused() -> None:
    text = example_with(('monday = ["09:00-17:00"]\ntuesday = ["09:00-17:00"]\n', ""))
    for day in ('wednesday = ["09:00-13:00", "14:00-17:00"]', 'thursday = ["09:00-19:00"]'):
        text = text.replace(day, "")
    text = text.replace('friday = ["09:00-17:00"]', "").replace('saturday = ["09:00-12:00"]', "")

    assert problems_of(text) == [
        "centre.toml: hours: the centre is never open: give hours for at least one weekday,"
        " or set always_open = true"
    ]


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^.*nowhere\.toml: no such file$"):
        load_config(tmp_path / "nowhere.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b'[centre]\nname = "Caf\xe9"\n')
    with pytest.raises(ConfigError, match="latin1.toml: line 2: the file is not UTF-8 text"):
        load_config(latin1)


def test_legal_but_odd_choices_are_warnings() -> None:
    text = example_with(
        ('"ur", "ar"]', '"ur", "ar", "so"]'),
        ('pl = "Mieszkania i zasiłki"', 'pl = "Mieszkania i zasiłki", fr = "Logement"'),
        ('primary = ["planning"]\nsecondary = ["licensing"]', "primary = []\nsecondary = []"),
    )
    # Counter 4's skills are gone, but Counter 5 still covers planning (secondary).
    config = parse_config(text)

    assert config.warnings == [
        'centre.languages[6]: the app has no translations for "so"; the kiosk will show'
        " English text for it",
        'services[0].names.fr: "fr" is not in centre.languages, so this name is never shown',
        'counters[3]: "Counter 4" has no skills and can call no one until a manager gives it some',
    ]


def test_the_centres_servers_for_the_pages() -> None:
    """``[servers] pages``: where browsers reach the active server and its standbys."""
    text = EXAMPLE.read_text(encoding="utf-8")
    servers = '\n[servers]\npages = ["https://Queue-A.example.gov.uk/", "http://10.0.0.2:8765"]\n'
    config = parse_config(text + servers, "centre.toml")
    assert config.servers.pages == ["https://queue-a.example.gov.uk", "http://10.0.0.2:8765"]
    assert load_config(EXAMPLE).servers.pages == []
    for bad, says in (
        ('"queue-a.example.gov.uk"', "must be a web address like https://"),
        ('"https://a.example:99999"', "has a bad port number"),
        ('"https://a.example/board"', "must be only the server's address"),
    ):
        (problem,) = problems_of(text + f"\n[servers]\npages = [{bad}]\n")
        assert problem.startswith(f"centre.toml: servers.pages[0]: {says}"), problem
