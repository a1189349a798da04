"""What the index knows of one lesson."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LessonDoc:
    pack_id: str
    lesson_id: str
    title: str
    language: str
    kind: str
    keywords: tuple[str, ...] = ()
    description: str = ""
    text: str = ""
    subjects: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()
    topic_path: tuple[str, ...] = ()
    pack_title: str = ""

    @property
    def key(self) -> str:
        return f"{self.pack_id}/{self.lesson_id}"
