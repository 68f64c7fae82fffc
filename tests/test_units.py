from datetime import timedelta

import pytest

from signals.units import format_duration, parse_duration, parse_rate, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("7d", timedelta(days=7)),
        ("90s", timedelta(seconds=90)),
        (45, timedelta(seconds=45)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_durations_read_the_way_people_write_them(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "soon", "5 minutes", "-3m", True])
def test_bad_durations_say_what_was_expected(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)  # type: ignore[arg-type]


def test_format_duration_round_trips() -> None:
    for text in ("30m", "1h30m", "1d6h", "45s"):
        assert format_duration(parse_duration(text)) == text


def test_sizes_and_rates() -> None:
    assert parse_size("10MB") == 10_000_000
    assert parse_size("512KiB") == 512 * 1024
    assert parse_rate("10/s") == 10
    assert parse_rate("1/3s") == pytest.approx(1 / 3)
    assert parse_rate("30/min") == 0.5
    with pytest.raises(ValueError, match="rate"):
        parse_rate("fast")
    with pytest.raises(ValueError, match="size"):
        parse_size("big")
