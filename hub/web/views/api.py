"""JSON for programs (other hubs, apps, the tests): packs and lessons with their file URLs."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, jsonify, url_for
from flask.typing import ResponseReturnValue

from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.library import lessons as lesson_service
from hub.library.models import Lesson, Pack, TopicNode
from hub.library.responses import pack_json, pack_or_404

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/packs")
def packs() -> ResponseReturnValue:
    counts = Pack.lesson_counts()
    return jsonify({"packs": [_pack_json(p, counts.get(p.id, 0)) for p in Pack.ordered()]})


@bp.get("/packs/<pack_id>")
def pack(pack_id: str) -> ResponseReturnValue:
    found = pack_or_404(pack_id, named=True)
    body = _pack_json(found, len(Lesson.in_pack(pack_id)))
    body["topics"] = [_topic_json(node) for node in found.topic_tree()]
    body["lessons"] = [_lesson_summary(lesson) for lesson in Lesson.in_pack(pack_id)]
    return jsonify(body)


@bp.get("/lessons/<pack_id>/<lesson_id>")
def lesson(pack_id: str, lesson_id: str) -> ResponseReturnValue:
    view = lesson_service.lesson_view(pack_id, lesson_id)
    if view is None:
        raise HubError(
            404,
            "lesson_not_found",
            gettext("No lesson %(pack)s/%(lesson)s is installed.", pack=pack_id, lesson=lesson_id),
        )
    found, files = view.lesson, view.files
    body = _lesson_summary(found)
    body.update(
        {
            "description": found.description,
            "keywords": found.keywords,
            "duration": found.duration,
            "language": found.pack.language,
            "license": found.pack.license,
            "attribution": found.pack.attribution,
            "files": {
                "main": files.main,
                "poster": files.poster,
                "subtitles": {s.language: s.url for s in files.subtitles},
                "assets": files.assets,
            },
        }
    )
    body["previous"] = _ref(view.previous)
    body["next"] = _ref(view.next)
    if found.kind == "exercise":
        body["exercise"] = _exercise_json(found)
    return jsonify(body)


def _pack_json(pack: Pack, lessons: int) -> dict:
    return {**pack_json(pack, lessons), "url": url_for("pages.pack", pack_id=pack.id)}


def _topic_json(node: TopicNode) -> dict:
    return {
        "id": node.topic.topic_id,
        "title": node.topic.title,
        "lessons": [lesson.lesson_id for lesson in node.lessons],
        "topics": [_topic_json(child) for child in node.children],
    }


def _lesson_summary(lesson: Lesson) -> dict:
    return {
        "pack_id": lesson.pack_id,
        "lesson_id": lesson.lesson_id,
        "title": lesson.title,
        "kind": lesson.kind,
        "url": lesson_service.lesson_url(lesson),
    }


def _ref(lesson: Lesson | None) -> dict | None:
    return (
        None
        if lesson is None
        else {
            "lesson_id": lesson.lesson_id,
            "title": lesson.title,
            "url": lesson_service.lesson_url(lesson),
        }
    )


def _exercise_json(lesson: Lesson) -> dict | None:
    """Questions without their answers: grading happens on the hub."""
    exercise = lesson_service.exercise_of(lesson)
    if exercise is None:
        return None
    questions = []
    for question in exercise.questions:
        shown = asdict(question)
        for secret in ("answer", "tolerance", "explanation"):
            shown.pop(secret, None)
        shown["choices"] = list(question.choices)
        questions.append(shown)
    return {
        "mastery": {"correct": exercise.mastery_correct, "of": exercise.mastery_of},
        "questions": questions,
    }
