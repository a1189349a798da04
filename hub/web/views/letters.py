"""/letters: a class writes to its partner class on another hub (issue #18 part 2), and
/coach/letters: its coach approves what goes out and what comes in. Only the class, the hub's
coaches and operators see a class's letters. The work is in hub.learning.letters; pages work
without JavaScript on a phone."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _

from hub.core.errors import HubError
from hub.core.translate import UI_LANGUAGES
from hub.learning import letters
from hub.learning.letter_caps import PROTOCOL, LetterCaps, size_words
from hub.learning.letter_models import IN, ClassPartner, Letter
from hub.people.auth import check_role, current_learner, require
from hub.people.models import ClassGroup, Learner
from hub.web import i18n
from hub.web.csrf import larger_form
from hub.web.sendfile import send_path
from hub.web.views import coach_letters
from sync.letters import MAX_AUDIO_BYTES, MAX_PHOTOS, MAX_TEXT

bp = Blueprint("letters", __name__)
COACHES = ("coach", "operator")
EVERYONE = ("learner", *COACHES)
# A letter's photos and recording, and the form around them, at the protocol's caps: what the
# server lets through to this page at most (each hub's letter_* settings may lower it).
FORM_LIMIT = PROTOCOL.form_bytes
FORM_TOO_LARGE = lazy_gettext("These files are too large to send together.")
# An attachment is only ever an image or a sound: shown in the page, never run as a document.
ATTACHMENT_CSP = "sandbox; default-src 'none'; img-src 'self'; media-src 'self'"


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"status_label": letters.status_label}


def _not_found() -> HubError:
    return HubError(404, "letters_not_found", _("There are no such letters on this hub."))


def _pairing(pair_uid: str) -> tuple[ClassPartner, ClassGroup]:
    """The pairing and this hub's class in it, if the signed-in person may see them: the
    class's own learners, the hub's coaches and operators."""
    who = check_role(*EVERYONE)
    pair = ClassPartner.get_or_none(ClassPartner.uid == pair_uid)
    if pair is None:
        raise _not_found()
    group = ClassGroup.get_or_none(ClassGroup.uid == pair.class_uid)
    if group is None:
        raise _not_found()
    if who.role == "learner" and group not in _learner().classes():
        raise HubError(403, "not_your_class", _("These are another class's letters."))
    return pair, group


def _learner() -> Learner:
    learner = current_learner()
    if learner is None:
        raise HubError(403, "forbidden", _("Your account is not allowed to do this."))
    return learner


@bp.get("/letters")
@require(*EVERYONE)
def index() -> ResponseReturnValue:
    learner = current_learner()
    if learner is None:
        return redirect(url_for("letters.coach"))
    pairs = [p for group in learner.classes() for p in ClassPartner.active_of(group.uid)]
    if len(pairs) == 1:
        return redirect(url_for("letters.conversation", pair_uid=pairs[0].uid))
    return render_template("letters/index.html", pairs=pairs)


@bp.get("/letters/<pair_uid>")
def conversation(pair_uid: str) -> ResponseReturnValue:
    pair, group = _pairing(pair_uid)
    return _conversation_page(pair, group)


def _conversation_page(
    pair: ClassPartner, group: ClassGroup, form: dict[str, Any] | None = None, status: int = 200
) -> ResponseReturnValue:
    form = form or {}
    shown = letters.conversation(group.uid, pair.partner_class_uid)
    learner = current_learner()
    if learner is not None:
        for letter in shown:
            letters.mark_read(letter)
    page = render_template(
        "letters/conversation.html",
        pair=pair,
        group=group,
        letters=shown,
        may_write=learner is not None and pair.state == "active",
        languages=[(code, i18n.language_name(code)) for code in UI_LANGUAGES],
        form_id=uuid.uuid4().hex,
        text=form.get("text", ""),
        language=form.get("language") or str(get_locale() or "en"),
        warnings=form.get("warnings", []),
        error=form.get("error"),
        max_text=MAX_TEXT,
        max_photos=MAX_PHOTOS,
        caps=_caps(),
        size_words=size_words,
    )
    return page, status


@bp.post("/letters/<pair_uid>/write")
@larger_form(lambda: _caps().form_bytes, FORM_TOO_LARGE)
def write(pair_uid: str) -> ResponseReturnValue:
    pair, group = _pairing(pair_uid)
    learner = _learner()
    text = request.form.get("text", "")
    language = request.form.get("language", "")
    if language not in UI_LANGUAGES:
        language = str(get_locale() or "en")
    kept = {"text": text, "language": language}
    warnings = letters.personal_details(text)
    if warnings and not request.form.get("anyway"):
        return _conversation_page(pair, group, {**kept, "warnings": warnings})
    files = [f.stream.read(MAX_AUDIO_BYTES + 1) for f in _sent_files()]
    try:
        letters.compose(
            letters.store_of(current_app.config["LEARNHUB"].data_dir),
            learner,
            group,
            pair.partner_class_uid,
            text,
            language,
            files,
            uid=request.form.get("form_id", ""),
            caps=_caps(),
        )
    except letters.LetterError as err:
        return _conversation_page(pair, group, {**kept, "error": str(err)}, 400)
    flash(_("Your letter is waiting for your teacher."))
    return redirect(url_for("letters.conversation", pair_uid=pair.uid), 303)


def _caps() -> LetterCaps:
    return LetterCaps.of(current_app.config["LEARNHUB"])


def _sent_files() -> list[Any]:
    chosen = request.files.getlist("photos") + request.files.getlist("recording")
    return [f for f in chosen if f.filename]


@bp.route("/letters/file/<int:letter_id>/<sha256>", methods=["GET", "HEAD"])
def attachment(letter_id: int, sha256: str) -> ResponseReturnValue:
    who = check_role(*EVERYONE)
    letter = Letter.get_or_none(Letter.id == letter_id)
    if letter is None:
        raise _not_found()
    if who.role == "learner" and not _class_sees(letter):
        raise HubError(403, "not_your_class", _("These are another class's letters."))
    store = letters.store_of(current_app.config["LEARNHUB"].data_dir)
    found = letters.attachment_of(store, letter, sha256)
    if found is None:
        raise _not_found()
    path, media_type = found
    return send_path(
        path,
        etag=sha256,
        media_type=media_type,
        headers={"Content-Security-Policy": ATTACHMENT_CSP, "Content-Disposition": "inline"},
    )


def _class_sees(letter: Letter) -> bool:
    group = ClassGroup.get_or_none(ClassGroup.uid == letter.class_uid)
    return group is not None and group in _learner().classes() and letters.visible_to_class(letter)


@bp.get("/coach/letters")
@require(*COACHES)
def coach() -> ResponseReturnValue:
    return coach_letters.render()


@bp.post("/coach/letters/<int:letter_id>")
@require(*COACHES)
def decide(letter_id: int) -> ResponseReturnValue:
    letter = Letter.get_or_none(Letter.id == letter_id)
    if letter is None:
        raise _not_found()
    approve = request.form.get("decision") == "approve"
    try:
        letters.decide(letter, approve)
    except letters.LetterError as err:
        flash(str(err))
        return redirect(url_for("letters.coach"), 303)
    if letter.direction == IN:
        flash(_("The class can read it now.") if approve else _("The class will not see it."))
    elif approve:
        flash(_("The letter goes to the partner class with the next sync."))
    else:
        flash(_("The letter will not be sent."))
    return redirect(url_for("letters.coach"), 303)
