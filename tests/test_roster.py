"""The roster service: CSV import (all or nothing, "line N: reason"), export, and the checks
shared by the web pages and the CLI."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator

import pytest
from flask import Flask

from hub.core.db import connected
from hub.people import roster
from hub.people.models import ClassGroup, Learner, PeopleError, StaffUser
from hub.people.roster import RosterError, import_csv, read_csv

HEADER = "name,class,pin,language\n"


@pytest.fixture
def hub(app: Flask) -> Iterator[Flask]:
    with connected():
        yield app


def csv_bytes(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return (header + "".join(line + "\n" for line in lines)).encode(encoding)


def problems_of(data: bytes) -> list[str]:
    with pytest.raises(RosterError) as caught:
        read_csv(data)
    return caught.value.problems


def names_in_db() -> list[str]:
    return sorted(learner.display_name for learner in Learner.select())


# --- reading ----------------------------------------------------------------------------


def test_reads_every_column() -> None:
    rows = read_csv(csv_bytes("Amina Juma,4A,0123,sw", "Joseph,,,"))
    assert [(r.line, r.name, r.classes, r.pin, r.language) for r in rows] == [
        (2, "Amina Juma", ("4A",), "0123", "sw"),
        (3, "Joseph", (), None, ""),
    ]


def test_semicolons_bom_crlf_and_header_in_any_order_and_case() -> None:
    data = "\ufeffLanguage;Name;CLASS\r\nfr;Zoé Martin;CM1\r\n".encode()
    [row] = read_csv(data)
    assert (row.name, row.classes, row.language) == ("Zoé Martin", ("CM1",), "fr")


def test_tabs_quotes_and_only_a_name_column() -> None:
    [row] = read_csv(b'name\tclass\n"Mwangi, Joseph"\t"4A"\n')
    assert row.name == "Mwangi, Joseph"
    [only] = read_csv(b"name\nAmina\n")
    assert (only.name, only.classes, only.pin) == ("Amina", (), None)


def test_blank_lines_are_skipped_and_line_numbers_stay_true() -> None:
    data = b'name,class\n\nAmina,4A\n"Two\nlines",4A\n,\nBad\x07Name,4A\n'
    assert problems_of(data) == ["line 7: a name cannot contain control characters."]


def test_names_are_trimmed_collapsed_and_nfc() -> None:
    [row] = read_csv(csv_bytes("  Zoe\u0301   Martin  ,  4A  ,,"))
    assert row.name == "Zoé Martin" and row.classes == ("4A",)


def test_several_classes_with_a_bar() -> None:
    [row] = read_csv(csv_bytes("Amina,4A| Reading club |4a|,,"))
    assert row.classes == ("4A", "Reading club")


def test_language_is_normalised() -> None:
    rows = read_csv(csv_bytes("A,,,PT_br", "B,,,SW", "C,,,zh-hant-tw"))
    assert [r.language for r in rows] == ["pt-BR", "sw", "zh-Hant-TW"]


def test_every_bad_row_is_reported_with_its_line() -> None:
    data = csv_bytes(
        "Amina,4A,1234,sw",
        ",4A,,",
        "Joseph,4A,12ab,",
        "Kevin,4A,123,",
        "Wanjiru,4A,1234567,",
        "Zoé,4A,,not a language",
        "x" * 10_000 + ",4A,,",
        "Otieno," + "c" * 61 + ",,",
        "Amina,4a,,",
    )
    assert problems_of(data) == [
        "line 3: a name cannot be empty.",
        "line 4: a PIN is 4 to 6 digits.",
        "line 5: a PIN is 4 to 6 digits.",
        "line 6: a PIN is 4 to 6 digits.",
        "line 7: a language is a code such as en, fr, sw or pt-BR.",
        "line 8: a name can have at most 100 characters.",
        "line 9: a class name can have at most 60 characters.",
        "line 10: the same learner as line 2.",
    ]


def test_error_message_counts_problems() -> None:
    with pytest.raises(RosterError) as caught:
        read_csv(csv_bytes(",4A,,", "B,,12ab,"))
    assert str(caught.value) == "The file has 2 problems; nothing was imported."


def test_missing_header() -> None:
    assert problems_of(b"Amina Juma,4A,1234,sw\n") == [
        "line 1: the first line must be the header name,class,pin,language."
    ]


def test_unknown_and_repeated_columns() -> None:
    assert problems_of(b"name,class,age,name\nA,4A,9,B\n") == [
        'line 1: the column "name" appears twice.',
        'line 1: unknown column "age"; the columns are name, class, pin, language.',
    ]


def test_extra_values_in_a_row() -> None:
    assert problems_of(csv_bytes("Amina,4A,1234,sw,surprise")) == [
        "line 2: more values than the header has columns."
    ]


def test_trailing_empty_columns_from_a_spreadsheet_are_fine() -> None:
    rows = read_csv(b"name;class;;\nAmina;4A;;\n")
    assert rows[0].name == "Amina"
    assert problems_of(b"name;class;;\nAmina;4A;x;\n") == [
        "line 2: a value under a column with no name."
    ]


def test_unclosed_quote() -> None:
    assert problems_of(b'name,class\nAmina,4A\n"Joseph,4A\nKevin,4A\n') == [
        'line 3: a quote (") is not closed, or text follows one.'
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty; its first line must be the header name,class,pin,language."),
        (b"\n \n,,\n", "The file is empty"),
        (b"\xff\xfen\x00a\x00", "saved as UTF-16"),
        (b"PK\x03\x04\x00\x00binary", "This is not a CSV text file"),
        (b"x" * (1024 * 1024 + 1), "larger than 1 MB"),
    ],
)
def test_files_refused_whole(data: bytes, message: str) -> None:
    with pytest.raises(RosterError, match=message.replace("(", r"\(")):
        read_csv(data)


def test_wrong_encoding_names_the_line() -> None:
    latin1 = csv_bytes("Amina,4A,,", "Zoé,4A,,", encoding="latin-1")
    assert problems_of(latin1) == ['line 3: this is not UTF-8 text; save the file as "CSV UTF-8".']


def test_random_binary_junk() -> None:
    junk = bytes(b % 255 + 1 for b in os.urandom(4096))  # no NUL, almost surely not UTF-8
    with pytest.raises(RosterError):
        read_csv(junk)


def test_row_limit() -> None:
    rows = [f"Learner {n}" for n in range(roster.MAX_CSV_ROWS)]
    assert len(read_csv(csv_bytes(*rows, header="name\n"))) == roster.MAX_CSV_ROWS
    with pytest.raises(RosterError, match="more than 5000 learners"):
        read_csv(csv_bytes(*rows, "One more", header="name\n"))


def test_row_limit_counts_bad_rows_too() -> None:
    rows = ["x,1,2,3,4,5"] * (roster.MAX_CSV_ROWS + 1)
    with pytest.raises(RosterError, match="more than 5000 learners") as caught:
        read_csv(csv_bytes(*rows))
    assert caught.value.problems == []


# --- importing --------------------------------------------------------------------------


def test_import_adds_learners_classes_and_pins(hub: Flask) -> None:
    summary = import_csv(csv_bytes("Amina Juma,4A,2580,sw", "Joseph,4A|Club,,", "Zoé,,,fr"))
    assert (summary.added, summary.skipped, summary.new_classes) == (3, 0, ("4A", "Club"))
    amina = Learner.by_username("amina-juma")
    assert amina.check_pin("2580") and not amina.check_pin("0000") and amina.language == "sw"
    joseph = Learner.by_username("joseph")
    assert joseph.check_pin("") and [g.name for g in joseph.classes()] == ["4A", "Club"]
    assert [g.name for g in ClassGroup.ordered()] == ["4A", "Club"]


def test_importing_twice_adds_nobody_twice(hub: Flask) -> None:
    data = csv_bytes("Amina,4A,2580,sw", "Joseph,,,")
    import_csv(data)
    again = import_csv(data)
    assert (again.added, again.skipped) == (0, 2)
    moved = import_csv(csv_bytes("amina,4B,,", "AMINA,4a,,"))
    assert (moved.added, moved.skipped, moved.new_classes) == (1, 1, ("4B",))
    assert Learner.select().count() == 3


def test_existing_classes_are_matched_in_any_case(hub: Flask) -> None:
    roster.add_class("Reading Club")
    summary = import_csv(csv_bytes("Amina,reading club,,"))
    assert summary.new_classes == ()
    assert [g.name for g in ClassGroup.ordered()] == ["Reading Club"]


def test_a_bad_file_imports_nothing(hub: Flask) -> None:
    with pytest.raises(RosterError):
        import_csv(csv_bytes("Amina,4A,,", "Joseph,4B,12ab,"))
    assert Learner.select().count() == 0 and ClassGroup.select().count() == 0


def test_a_failure_while_writing_rolls_everything_back(
    hub: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = roster._create_learner
    calls = []

    def failing(*args: object) -> Learner:
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(*args)

    monkeypatch.setattr(roster, "_create_learner", failing)
    with pytest.raises(RuntimeError):
        import_csv(csv_bytes("A,4A,1234,", "B,4B,,", "C,4C,,"))
    assert Learner.select().count() == 0 and ClassGroup.select().count() == 0


def test_check_only_writes_nothing(hub: Flask) -> None:
    summary = import_csv(csv_bytes("Amina,4A,,", "Joseph,4B,,"), check_only=True)
    assert summary.checked_only and summary.added == 2 and summary.new_classes == ("4A", "4B")
    assert Learner.select().count() == 0 and ClassGroup.select().count() == 0


def test_same_names_get_distinct_user_names(hub: Flask) -> None:
    import_csv(csv_bytes("Amina Juma,4A,,", "Amina Juma,4B,,", "Амина,,,", "アミナ,,,"))
    assert sorted(learner.username for learner in Learner.select()) == [
        "amina-juma",
        "amina-juma-2",
        "амина",
        "アミナ",
    ]


def test_formula_strings_are_stored_as_text_and_escaped_on_export(hub: Flask) -> None:
    hostile = ["=cmd|' /C calc'!A0", "+SUM(A1)", "-2+3", "@cmd"]
    out = io.StringIO()
    csv.writer(out).writerows([roster.COLUMNS, *([n, '=HYPERLINK("x")', "", ""] for n in hostile)])
    import_csv(out.getvalue().encode())
    assert names_in_db() == sorted(hostile)
    assert ClassGroup.get().name == '=HYPERLINK("x")'
    exported = roster.export_csv(Learner.select().order_by(Learner.display_name))
    assert exported.startswith("\ufeffname,class,pin,language\r\n")
    for name, group, _pin, _language in list(csv.reader(io.StringIO(exported)))[1:]:
        assert name.startswith("'") and name[1:] in hostile
        assert group == '\'=HYPERLINK("x")'
    # The export goes back in as it came out: nobody is added twice, nothing gains a quote.
    again = import_csv(exported.encode())
    assert (again.added, again.skipped) == (0, 4)


def test_export_round_trips_into_a_fresh_hub(hub: Flask) -> None:
    import_csv(csv_bytes("Amina,4A|Club,2580,sw", "Joseph,,,"))
    exported = roster.export_csv(Learner.select().order_by(Learner.display_name))
    assert "2580" not in exported and "pbkdf2" not in exported and "scrypt" not in exported
    rows = read_csv(exported.encode())
    assert [(r.name, r.classes, r.pin, r.language) for r in rows] == [
        ("Amina", ("4A", "Club"), None, "sw"),
        ("Joseph", (), None, ""),
    ]


# --- the checks the pages and CLI share -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "cannot be empty"),
        ("   \t ", "cannot be empty"),
        ("x" * 10_000, "at most 100 characters"),
        ("Bad\x00name", "control characters"),
        ("Esc\x1b[31m", "control characters"),
    ],
)
def test_names_refused(value: str, message: str) -> None:
    with pytest.raises(PeopleError, match=message):
        roster.clean_name(value)


@pytest.mark.parametrize("pin", ["12ab", "123", "1234567", "١٢٣٤", "12 34", "-1234"])
def test_pins_refused(pin: str) -> None:
    with pytest.raises(PeopleError, match="A PIN is 4 to 6 digits"):
        roster.clean_pin(pin)


def test_class_names(hub: Flask) -> None:
    group = roster.add_class("  4A  ")
    assert group.name == "4A"
    for bad, message in (
        ("4a", "There is already a class called 4A."),
        ("A|B", "cannot contain"),
        ("", "cannot be empty"),
        ("c" * 10_000, "at most 60 characters"),
    ):
        with pytest.raises(PeopleError, match=message.replace("|", r"\|")):
            roster.add_class(bad)
    other = roster.add_class("4B")
    with pytest.raises(PeopleError, match="already a class called 4A"):
        roster.rename_class(other, "4A")
    roster.rename_class(group, "4a")  # a class may change its own case
    assert [g.name for g in ClassGroup.ordered()] == ["4B", "4a"]


def test_delete_class_keeps_its_learners(hub: Flask) -> None:
    group = roster.add_class("4A")
    amina = roster.add_learner("Amina", classes=[group])
    roster.delete_class(group)
    assert Learner.get_by_id(amina.id).classes() == []


def test_update_learner(hub: Flask) -> None:
    a, b = roster.add_class("4A"), roster.add_class("4B")
    learner = roster.add_learner("Amina", pin="1234", classes=[a])
    roster.update_learner(learner, name="Amina J", language="SW", classes=[b], new_pin="")
    fresh = Learner.get_by_id(learner.id)
    assert (fresh.display_name, fresh.language) == ("Amina J", "sw")
    assert fresh.check_pin("1234") and [g.name for g in fresh.classes()] == ["4B"]
    roster.update_learner(fresh, name="Amina J", language="", classes=[], remove_pin=True)
    assert Learner.get_by_id(learner.id).check_pin("") and fresh.classes() == []
    with pytest.raises(PeopleError, match="not both"):
        roster.update_learner(
            fresh, name="A", language="", classes=[], new_pin="1234", remove_pin=True
        )


def test_staff_rules(hub: Flask) -> None:
    first = roster.create_first_operator("Op", "secret-123")
    assert first is not None and first.role == "operator"
    assert roster.create_first_operator("Another", "secret-123") is None
    coach = roster.add_staff("Ms Achieng", "coach", "password1")
    with pytest.raises(PeopleError, match="already a user"):
        roster.add_staff("ms achieng", "coach", "password1")
    with pytest.raises(PeopleError, match="at most 256"):
        roster.add_staff("Long", "coach", "p" * 10_000)
    with pytest.raises(PeopleError, match="own account"):
        roster.remove_staff(first, first.username)
    with pytest.raises(PeopleError, match="at least one operator"):
        roster.remove_staff(first, coach.username)
    roster.set_password(coach, "new-password")
    assert StaffUser.by_username("ms-achieng").check_password("new-password")
    with pytest.raises(PeopleError, match="at least 8"):
        roster.set_password(coach, "short")
    roster.remove_staff(coach, first.username)
    assert StaffUser.by_username("ms-achieng") is None
