import pytest

from chalicelib.money import format_yuan, parse_yuan


@pytest.mark.parametrize(
    ("text", "fen"),
    [("5999.00", 599900), ("5999", 599900), ("0.5", 50), ("0.05", 5), ("-1.20", -120), (12, 1200)],
)
def test_yuan_strings_parse_to_exact_fen(text: object, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("bad", [1.5, "1.005", "abc", "", "1e3", " ", None, True, "１２"])
def test_anything_but_a_two_place_decimal_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_yuan(bad)


@pytest.mark.parametrize(
    ("fen", "text"), [(599900, "5999.00"), (5, "0.05"), (0, "0.00"), (-120, "-1.20")]
)
def test_fen_formats_with_two_places(fen: int, text: str) -> None:
    assert format_yuan(fen) == text
