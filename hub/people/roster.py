"""The roster as an operator keeps it: learners, classes and staff accounts, checked the same
way from the web pages, the CLI and a CSV file.

A CSV import is all or nothing: every row is checked first and every problem is reported as
"line N: reason"; only a file with no problem is written, in one transaction. PINs are hashed
before that transaction opens, so learners' progress writes never queue behind the hashing.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from peewee import IntegrityError, fn

from hub.core.db import db, write_lock
from hub.core.translate import gettext, lazy_gettext, ngettext
from hub.people.models import (
    PIN,
    ClassGroup,
    ClassMember,
    Learner,
    PeopleError,
    StaffUser,
)
from sync.passwords import MIN_PASSWORD, hash_pin, hash_secret

T = TypeVar("T")

MAX_NAME = 100
MAX_CLASS_NAME = 60
MAX_PASSWORD = 256
MAX_CSV_BYTES = 1024 * 1024
MAX_CSV_ROWS = 5000
COLUMNS = ("name", "class", "pin", "language")
CLASS_SEPARATOR = "|"
LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8}){0,3}", re.IGNORECASE)
# Translators: the subject of "%(what)s cannot be empty." and the like.
NAME = lazy_gettext("A name")
CLASS_NAME = lazy_gettext("A class name")
# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class RosterError(ValueError):
    """A roster file was refused. str() is one sentence; `problems` lists "line N: reason"."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


# --- checking what people type ----------------------------------------------------------


def clean_name(name: str, what: str = NAME, limit: int = MAX_NAME) -> str:
    """Trimmed, inner whitespace collapsed, NFC; refuses empty, too long, control characters."""
    cleaned = " ".join(unicodedata.normalize("NFC", name).split())
    what = str(what)
    if not cleaned:
        raise PeopleError(gettext("%(what)s cannot be empty.", what=what))
    if len(cleaned) > limit:
        raise PeopleError(
            gettext("%(what)s can have at most %(n)d characters.", what=what, n=limit)
        )
    if any(unicodedata.category(c) == "Cc" for c in cleaned):
        raise PeopleError(gettext("%(what)s cannot contain control characters.", what=what))
    return cleaned


def clean_class_name(name: str) -> str:
    cleaned = clean_name(name, CLASS_NAME, MAX_CLASS_NAME)
    if CLASS_SEPARATOR in cleaned:
        raise PeopleError(
            gettext("A class name cannot contain %(separator)r.", separator=CLASS_SEPARATOR)
        )
    return cleaned


def clean_pin(pin: str | None) -> str | None:
    """An empty PIN means none (the learner signs in by name alone)."""
    pin = (pin or "").strip()
    if not pin:
        return None
    if not PIN.fullmatch(pin):
        raise PeopleError(gettext("A PIN is 4 to 6 digits."))
    return pin


def clean_language(code: str | None) -> str:
    """A BCP 47 tag such as sw, fr or pt-BR (pt_BR is accepted); empty means the hub's."""
    code = (code or "").strip().replace("_", "-")
    if not code:
        return ""
    if len(code) > 35 or not LANGUAGE.fullmatch(code):
        raise PeopleError(gettext("A language is a code such as en, fr, sw or pt-BR."))
    first, *rest = code.split("-")
    return "-".join([first.lower(), *(_subtag(part) for part in rest)])


def _subtag(part: str) -> str:
    if len(part) == 2 and part.isalpha():
        return part.upper()  # region: BR
    if len(part) == 4 and part.isalpha():
        return part.title()  # script: Latn
    return part.lower()


def clean_password(password: str) -> str:
    if len(password) > MAX_PASSWORD:
        raise PeopleError(gettext("A password can have at most %(n)d characters.", n=MAX_PASSWORD))
    return password


# --- staff ------------------------------------------------------------------------------


def add_staff(name: str, role: str, password: str) -> StaffUser:
    return StaffUser.add(clean_name(name), role, clean_password(password))


def create_first_operator(name: str, password: str) -> StaffUser | None:
    """The operator made with the setup code; None when another one exists already."""
    name, password = clean_name(name), clean_password(password)
    with db.atomic():
        if StaffUser.has_operator():
            return None
        return StaffUser.add(name, "operator", password)


def set_password(user: StaffUser, password: str) -> None:
    if len(clean_password(password)) < MIN_PASSWORD:
        raise PeopleError(
            gettext("The password must have at least %(n)d characters.", n=MIN_PASSWORD)
        )
    user.password_hash = hash_secret(password)
    user.save()


def remove_staff(user: StaffUser, acting_username: str) -> None:
    """Refuses to remove yourself, or the last operator (nobody could manage the hub)."""
    if user.username == acting_username:
        raise PeopleError(gettext("You cannot remove your own account."))
    with db.atomic():
        operators = StaffUser.select().where(StaffUser.role == "operator").count()
        if user.role == "operator" and operators <= 1:
            raise PeopleError(gettext("The hub needs at least one operator."))
        StaffUser.delete().where(StaffUser.id == user.id).execute()


# --- learners and classes ---------------------------------------------------------------


def add_learner(
    name: str,
    *,
    pin: str | None = None,
    language: str = "",
    classes: Sequence[ClassGroup] = (),
) -> Learner:
    name, pin, language = clean_name(name), clean_pin(pin), clean_language(language)
    pin_hash = hash_pin(pin) if pin else None
    with db.atomic():
        learner = _create_learner(name, pin_hash, language)
        for group in classes:
            group.add_learner(learner)
    return learner


def _create_learner(name: str, pin_hash: str | None, language: str) -> Learner:
    learner = Learner.add(name, None, language)
    if pin_hash:
        learner.pin_hash = pin_hash
        learner.save(only=[Learner.pin_hash])
    return learner


def update_learner(
    learner: Learner,
    *,
    name: str,
    language: str,
    classes: Sequence[ClassGroup],
    new_pin: str | None = None,
    remove_pin: bool = False,
) -> None:
    name, language, pin = clean_name(name), clean_language(language), clean_pin(new_pin)
    if pin and remove_pin:
        raise PeopleError(gettext("Either type a new PIN or remove the PIN, not both."))
    pin_hash = hash_pin(pin) if pin else None
    with db.atomic():
        learner.display_name, learner.language = name, language
        if pin_hash or remove_pin:
            learner.pin_hash = pin_hash
        learner.save()
        set_classes(learner, classes)


def set_classes(learner: Learner, classes: Sequence[ClassGroup]) -> None:
    wanted = {group.id for group in classes}
    ClassMember.delete().where(
        ClassMember.learner == learner, ClassMember.class_group.not_in(wanted)
    ).execute()
    for group in classes:
        group.add_learner(learner)


def classes_by_key() -> dict[str, ClassGroup]:
    """Every class by its case-folded name: "4A" and "4a" are one class to a person."""
    return {group.name.casefold(): group for group in ClassGroup.ordered()}


def find_classes(names: Iterable[str], *, create: bool = False) -> list[ClassGroup]:
    """Classes by name (any case); missing ones are created, or refused when not `create`."""
    known, found = classes_by_key(), []
    for name in names:
        name = clean_class_name(name)
        group = known.get(name.casefold())
        if group is None and not create:
            raise PeopleError(gettext("There is no class called %(name)s.", name=name))
        if group is None:
            group = known[name.casefold()] = ClassGroup.create(name=name)
        found.append(group)
    return found


def add_class(name: str) -> ClassGroup:
    name = clean_class_name(name)
    with db.atomic():
        _check_free(name, None)
        return ClassGroup.create(name=name)


def rename_class(group: ClassGroup, name: str) -> None:
    name = clean_class_name(name)
    with db.atomic():
        _check_free(name, group)
        group.name = name
        group.save()


def _check_free(name: str, renaming: ClassGroup | None) -> None:
    other = classes_by_key().get(name.casefold())
    if other is not None and (renaming is None or other.id != renaming.id):
        raise PeopleError(gettext("There is already a class called %(name)s.", name=other.name))


def delete_class(group: ClassGroup) -> None:
    """Learners stay; their membership of this class and its assignments go."""
    ClassGroup.delete().where(ClassGroup.id == group.id).execute()


def remove_member(group: ClassGroup, learner: Learner) -> None:
    ClassMember.delete().where(
        ClassMember.class_group == group, ClassMember.learner == learner
    ).execute()


def class_sizes() -> dict[int, int]:
    query = ClassMember.select(ClassMember.class_group, fn.COUNT(ClassMember.id).alias("n"))
    return {row.class_group_id: row.n for row in query.group_by(ClassMember.class_group)}


def classes_of(learners: Sequence[Learner]) -> dict[int, list[ClassGroup]]:
    """Each learner's classes, by learner id, in one query."""
    found: dict[int, list[ClassGroup]] = {learner.id: [] for learner in learners}
    query = (
        ClassMember.select(ClassMember, ClassGroup)
        .join(ClassGroup)
        .where(ClassMember.learner.in_(list(found)))
        .order_by(ClassGroup.name)
    )
    for member in query:
        found[member.learner_id].append(member.class_group)
    return found


@dataclass(frozen=True)
class LearnerPage:
    learners: list[Learner]
    classes: dict[int, list[ClassGroup]]
    page: int
    pages: int
    total: int


def learner_page(
    *, group: ClassGroup | None = None, search: str = "", page: int = 1, per_page: int = 100
) -> LearnerPage:
    query = Learner.select()
    if group is not None:
        query = query.join(ClassMember).where(ClassMember.class_group == group)
    search = search.strip()[:MAX_NAME]
    if search:
        query = query.where(
            Learner.display_name.contains(search) | Learner.username.contains(search)
        )
    total = query.count()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    learners = list(query.order_by(Learner.display_name, Learner.id).paginate(page, per_page))
    return LearnerPage(learners, classes_of(learners), page, pages, total)


def not_in_class(group: ClassGroup) -> list[Learner]:
    members = ClassMember.select(ClassMember.learner).where(ClassMember.class_group == group)
    return list(Learner.select().where(Learner.id.not_in(members)).order_by(Learner.display_name))


# --- CSV --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterRow:
    line: int
    name: str
    classes: tuple[str, ...]
    pin: str | None
    language: str

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        return _learner_key(self.name, self.classes)


def _learner_key(name: str, classes: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    """Who a row is: the same name in the same classes is the same learner."""
    return name.casefold(), tuple(sorted({c.casefold() for c in classes}))


@dataclass(frozen=True)
class ImportSummary:
    rows: int
    added: int
    skipped: int  # already on the hub: importing a file twice adds nobody twice
    new_classes: tuple[str, ...] = field(default=())
    checked_only: bool = False


def import_csv(data: bytes, *, check_only: bool = False) -> ImportSummary:
    """Check a roster file and, unless `check_only`, add its learners; raises RosterError."""
    rows = read_csv(data)
    fresh = _not_on_hub(rows)
    if check_only:
        return ImportSummary(len(rows), len(fresh), len(rows) - len(fresh), _new(fresh), True)
    hashes = {row.line: hash_pin(row.pin) for row in fresh if row.pin}
    with write_lock, db.atomic():
        fresh = _not_on_hub(fresh)  # again, inside the transaction: another import may have won
        new_classes = _new(fresh)
        try:
            _write(fresh, hashes)
        except IntegrityError:
            raise RosterError(
                gettext(
                    "The learners could not be given distinct user names; nothing was imported."
                )
            ) from None
    return ImportSummary(len(rows), len(fresh), len(rows) - len(fresh), new_classes)


def _not_on_hub(rows: list[RosterRow]) -> list[RosterRow]:
    names: dict[int, list[str]] = {}
    for member in ClassMember.select(ClassMember, ClassGroup).join(ClassGroup):
        names.setdefault(member.learner_id, []).append(member.class_group.name)
    known = {
        _learner_key(learner.display_name, names.get(learner.id, []))
        for learner in Learner.select(Learner.id, Learner.display_name)
    }
    return [row for row in rows if row.key not in known]


def _new(rows: list[RosterRow]) -> tuple[str, ...]:
    known, new = classes_by_key(), dict[str, str]()
    for row in rows:
        for name in row.classes:
            if name.casefold() not in known:
                new.setdefault(name.casefold(), name)
    return tuple(new.values())


def _write(rows: list[RosterRow], hashes: dict[int, str]) -> None:
    groups = classes_by_key()
    for row in rows:
        learner = _create_learner(row.name, hashes.get(row.line), row.language)
        for name in row.classes:
            group = groups.get(name.casefold())
            if group is None:
                group = groups[name.casefold()] = ClassGroup.create(name=name)
            group.add_learner(learner)


def read_csv(data: bytes) -> list[RosterRow]:
    """Every row of a roster file, or RosterError listing every problem as "line N: ..."."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    header: list[str | None] | None = None
    rows: list[RosterRow] = []
    problems: list[str] = []
    seen: dict[tuple[str, tuple[str, ...]], int] = {}
    line, count = 1, 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            problems.append(
                gettext('line %(line)d: a quote (") is not closed, or text follows one.', line=line)
            )
            break
        line, start = reader.line_num + 1, line
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = _header(cells, start)
            continue
        count += 1
        if count > MAX_CSV_ROWS:
            raise RosterError(
                gettext("The file has more than %(n)d learners; split it.", n=MAX_CSV_ROWS)
            )
        row = _row(cells, header, start, problems)
        if row is None:
            continue
        if row.key in seen:
            problems.append(
                gettext(
                    "line %(line)d: the same learner as line %(first)d.",
                    line=start,
                    first=seen[row.key],
                )
            )
        seen.setdefault(row.key, start)
        rows.append(row)
    if header is None:
        raise RosterError(
            gettext("The file is empty; its first line must be the header name,class,pin,language.")
        )
    if problems:
        raise RosterError(_count(problems), problems)
    return rows


def _count(problems: list[str]) -> str:
    return ngettext(
        "The file has %(num)d problem; nothing was imported.",
        "The file has %(num)d problems; nothing was imported.",
        len(problems),
    )


def _decode(data: bytes) -> str:
    if len(data) > MAX_CSV_BYTES:
        raise RosterError(gettext("The file is larger than 1 MB; split it into smaller files."))
    if data.startswith(UTF16_BOMS):
        raise RosterError(
            gettext('The file is saved as UTF-16; save it as "CSV UTF-8" and try again.')
        )
    if b"\x00" in data:
        raise RosterError(
            gettext("This is not a CSV text file; save the roster as CSV and try again.")
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        problem = gettext(
            'line %(line)d: this is not UTF-8 text; save the file as "CSV UTF-8".', line=line
        )
        raise RosterError(_count([problem]), [problem]) from None


def _delimiter(text: str) -> str:
    """Spreadsheets in French and other locales write ';' between values, some write tabs."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return max((",", ";", "\t"), key=first.count)


def _header(cells: list[str], line: int) -> list[str | None]:
    names = [cell.strip().lower() or None for cell in cells]
    if "name" not in names:
        problem = gettext(
            "line %(line)d: the first line must be the header name,class,pin,language.",
            line=line,
        )
        raise RosterError(_count([problem]), [problem])
    problems = []
    for name in dict.fromkeys(n for n in names if n):
        if name not in COLUMNS:
            shown = name[:40]
            problems.append(
                gettext(
                    'line %(line)d: unknown column "%(column)s"; the columns are %(columns)s.',
                    line=line,
                    column=shown,
                    columns=", ".join(COLUMNS),
                )
            )
        elif names.count(name) > 1:
            problems.append(
                gettext(
                    'line %(line)d: the column "%(column)s" appears twice.', line=line, column=name
                )
            )
    if problems:
        raise RosterError(_count(problems), problems)
    return names


def _row(
    cells: list[str], header: list[str | None], line: int, problems: list[str]
) -> RosterRow | None:
    found = []
    if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
        found.append(gettext("line %(line)d: more values than the header has columns.", line=line))
    values = {name: unescape_cell(cell) for name, cell in zip(header, cells, strict=False) if name}
    if any(cell.strip() for name, cell in zip(header, cells, strict=False) if not name):
        found.append(gettext("line %(line)d: a value under a column with no name.", line=line))
    name = _checked(clean_name, values.get("name", ""), line, found)
    pin = _checked(clean_pin, values.get("pin", ""), line, found)
    language = _checked(clean_language, values.get("language", ""), line, found)
    classes = _row_classes(values.get("class", ""), line, found)
    problems.extend(found)
    if found or name is None or language is None:
        return None
    return RosterRow(line, name, classes, pin, language)


def _checked(check: Callable[[str], T], cell: str, line: int, found: list[str]) -> T | None:
    """The cell as `check` cleans it, or None with its problem added to `found`."""
    try:
        return check(cell)
    except PeopleError as err:
        found.append(_on_line(line, err))
        return None


def _row_classes(cell: str, line: int, found: list[str]) -> tuple[str, ...]:
    classes: dict[str, str] = {}
    for part in cell.split(CLASS_SEPARATOR):
        if not part.strip():
            continue
        try:
            name = clean_class_name(part)
        except PeopleError as err:
            found.append(_on_line(line, err))
            continue
        classes.setdefault(name.casefold(), name)
    return tuple(classes.values())


def _on_line(line: int, err: PeopleError) -> str:
    # Translators: a problem found on one line of a roster file, such as
    # "line 4: a PIN is 4 to 6 digits."
    return gettext("line %(line)d: %(problem)s", line=line, problem=_lower_first(str(err)))


def _lower_first(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:]


def export_csv(learners: Iterable[Learner]) -> str:
    """The roster in the import's own format (PINs stay secret, so that column is empty).
    Starts with a BOM so spreadsheet programs read it as UTF-8."""
    learners = list(learners)
    classes = classes_of(learners)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for learner in learners:
        names = CLASS_SEPARATOR.join(group.name for group in classes[learner.id])
        writer.writerow([safe_cell(learner.display_name), safe_cell(names), "", learner.language])
    return "\ufeff" + out.getvalue()


def safe_cell(value: str) -> str:
    """Stop a spreadsheet from running a cell as a formula ("=cmd|..."): a leading quote
    makes it text. The import takes that quote off again, so a roster survives the trip."""
    return "'" + value if value.startswith(FORMULA_START) else value


def unescape_cell(value: str) -> str:
    stripped = value.strip()
    if stripped.startswith("'") and stripped[1:].startswith(FORMULA_START):
        return stripped[1:]
    return value
