"""Frames and on-screen text for the video "Halves and quarters" (fractions-en).

The drawing is plain Python: each frame is a 960x540 RGB picture (a circle and a bar, cut into
equal parts that fill up), written raw to ffmpeg's stdin. ffmpeg adds the text with drawtext
and scales the picture down by 2, which smooths the edges.

scripts/make-sample-media calls `frames(timeline)` and `text_filters(timeline, fonts)`, where
`timeline` is a list of (scene_id, start, end) in seconds taken from the narration.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

WIDTH, HEIGHT, FPS = 960, 540, 15
POSTER_SCENE = "denominator"  # the poster is a still from this scene

BACKGROUND = (251, 247, 238)
INK = (43, 43, 43)
WHITE = (255, 255, 255)
GREEN = (124, 179, 66)
ORANGE = (242, 140, 40)
BLUE = (59, 130, 196)
RED = (229, 83, 83)
PURPLE = (142, 91, 196)

CIRCLE_CENTRE, CIRCLE_RADIUS = (250, 300), 165
BAR_LEFT, BAR_TOP, BAR_WIDTH, BAR_HEIGHT = 520, 215, 380, 120
LINE_HALF_WIDTH = 3

HALVES = (0.0, 0.5)
QUARTERS = (0.0, 0.25, 0.5, 0.75)


@dataclass(frozen=True)
class Shape:
    cuts: tuple[float, ...] = ()  # circle: turns clockwise from 12 o'clock; bar: 0..1 from left
    fill: float = 0.0  # how much is coloured, 0..1 (a turn for the circle, a width for the bar)
    colour: tuple[int, int, int] = GREEN


@dataclass(frozen=True)
class Fraction:
    top: str
    bottom: str
    centre_x: int
    top_colour: str = "0x2b2b2b"
    bottom_colour: str = "0x2b2b2b"


@dataclass(frozen=True)
class Words:
    text: str
    x: int
    y: int
    size: int = 30
    colour: str = "0x2b2b2b"
    bold: bool = False
    centred: bool = False  # x is the centre of the text rather than its left edge


@dataclass(frozen=True)
class Scene:
    title: str
    circle: Shape
    bar: Shape
    fractions: tuple[Fraction, ...] = ()
    words: tuple[Words, ...] = field(default_factory=tuple)


FRACTION_TOP_Y = 372
BOTTOM_LABEL_Y = 452

SCENES: dict[str, Scene] = {
    "whole": Scene(
        "One whole",
        Shape((), 1.0, GREEN),
        Shape((), 1.0, GREEN),
        words=(Words("1", 710, 380, 64, bold=True, centred=True),),
    ),
    "halves": Scene(
        "One half",
        Shape(HALVES, 0.5, ORANGE),
        Shape((0.5,), 0.5, ORANGE),
        fractions=(Fraction("1", "2", 710),),
    ),
    "two-halves": Scene(
        "Two halves make one whole",
        Shape(HALVES, 1.0, ORANGE),
        Shape((0.5,), 1.0, ORANGE),
        fractions=(Fraction("2", "2", 680),),
        words=(Words("= 1", 732, 418, 48, bold=True),),
    ),
    "quarters": Scene(
        "One quarter",
        Shape(QUARTERS, 0.25, BLUE),
        Shape((0.25, 0.5, 0.75), 0.25, BLUE),
        fractions=(Fraction("1", "4", 710),),
    ),
    "four-quarters": Scene(
        "Four quarters make one whole",
        Shape(QUARTERS, 1.0, BLUE),
        Shape((0.25, 0.5, 0.75), 1.0, BLUE),
        fractions=(Fraction("4", "4", 680),),
        words=(Words("= 1", 732, 418, 48, bold=True),),
    ),
    "equivalent": Scene(
        "Two quarters = one half",
        Shape(HALVES, 0.5, ORANGE),
        Shape((0.25, 0.5, 0.75), 0.5, BLUE),
        fractions=(Fraction("2", "4", 640, "0x3b82c4", "0x3b82c4"), Fraction("1", "2", 780)),
        words=(Words("=", 710, 418, 48, bold=True, centred=True),),
    ),
    "denominator": Scene(
        "Three quarters",
        Shape(QUARTERS, 0.75, BLUE),
        Shape((0.25, 0.5, 0.75), 0.75, BLUE),
        fractions=(Fraction("3", "4", 560, bottom_colour="0xb3541e"),),
        words=(
            Words("denominator", 610, 452, 30, "0xb3541e", bold=True),
            Words("parts in the whole", 610, 490, 26, "0xb3541e"),
        ),
    ),
    "numerator": Scene(
        "Three quarters",
        Shape(QUARTERS, 0.75, BLUE),
        Shape((0.25, 0.5, 0.75), 0.75, BLUE),
        fractions=(Fraction("3", "4", 560, "0x1d5f99", "0xb3541e"),),
        words=(
            Words("numerator", 610, 366, 30, "0x1d5f99", bold=True),
            Words("parts we take", 610, 402, 26, "0x1d5f99"),
            Words("denominator", 610, 452, 30, "0xb3541e", bold=True),
            Words("parts in the whole", 610, 490, 26, "0xb3541e"),
        ),
    ),
    "not-equal": Scene(
        "The parts must be equal",
        Shape((0.0, 0.36), 0.36, RED),
        Shape((0.3,), 0.3, RED),
        words=(
            Words("Not equal parts", 560, 380, 34, "0xc62828", bold=True),
            Words("so these are not halves", 560, 428, 28, "0xc62828"),
        ),
    ),
    "end": Scene(
        "Your turn!",
        Shape((0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875), 0.375, PURPLE),
        Shape((1 / 3, 2 / 3), 2 / 3, GREEN),
        words=(
            Words("Try the fraction builder", 540, 380, 30, bold=True),
            Words("and the quiz.", 540, 424, 30, bold=True),
        ),
    ),
}

CUT_START, CUT_END = 0.2, 0.8  # seconds after the scene starts


def _ease(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def _shape_state(now: Shape, before: Shape | None, t: float) -> tuple:
    """(cuts with their growth 0..1, fill, colour) of a shape `t` seconds into its scene."""
    old_cuts = set(before.cuts) if before else set()
    new_cuts = [c for c in now.cuts if c not in old_cuts]
    growth = round(_ease((t - CUT_START) / (CUT_END - CUT_START)), 2)
    cuts = tuple((c, 1.0 if c in old_cuts else growth) for c in now.cuts)
    same_look = before is not None and before.colour == now.colour and not new_cuts
    start_fill = before.fill if same_look and before.fill <= now.fill else 0.0
    fill_from = CUT_START if not new_cuts else CUT_END
    fill_progress = _ease((t - fill_from) / 0.9)
    fill = round(start_fill + (now.fill - start_fill) * fill_progress, 3)
    return cuts, fill, now.colour


class Canvas:
    """A 960x540 RGB picture in a bytearray with the few drawing operations we need."""

    def __init__(self) -> None:
        self.pixels = bytearray(bytes(BACKGROUND) * (WIDTH * HEIGHT))
        self._circle = _circle_pixels()

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        x0, x1 = max(0, x0), min(WIDTH, x1)
        run = bytes(colour) * (x1 - x0)
        for y in range(max(0, y0), min(HEIGHT, y1)):
            start = (y * WIDTH + x0) * 3
            self.pixels[start : start + len(run)] = run

    def dot(self, x: float, y: float, colour: tuple[int, int, int]) -> None:
        cx, cy, h = round(x), round(y), LINE_HALF_WIDTH
        self.rect(cx - h, cy - h, cx + h + 1, cy + h + 1, colour)

    def line(self, x0: float, y0: float, x1: float, y1: float, colour=INK) -> None:
        steps = max(1, int(math.hypot(x1 - x0, y1 - y0)))
        for i in range(steps + 1):
            self.dot(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps, colour)

    def circle(self, cuts: tuple, fill: float, colour: tuple[int, int, int]) -> None:
        inside, ring = self._circle
        paint, blank, dark = bytes(colour), bytes(WHITE), bytes(INK)
        for offset, turn in inside:
            self.pixels[offset : offset + 3] = paint if turn < fill else blank
        for offset in ring:
            self.pixels[offset : offset + 3] = dark
        cx, cy = CIRCLE_CENTRE
        for turn, growth in cuts:
            length = CIRCLE_RADIUS * growth
            angle = 2 * math.pi * turn
            self.line(cx, cy, cx + length * math.sin(angle), cy - length * math.cos(angle))

    def bar(self, cuts: tuple, fill: float, colour: tuple[int, int, int]) -> None:
        left, top, right, bottom = BAR_LEFT, BAR_TOP, BAR_LEFT + BAR_WIDTH, BAR_TOP + BAR_HEIGHT
        split = left + round(BAR_WIDTH * fill)
        self.rect(left, top, split, bottom, colour)
        self.rect(split, top, right, bottom, WHITE)
        for x0, y0, x1, y1 in (
            (left, top, right, top),
            (left, bottom, right, bottom),
            (left, top, left, bottom),
            (right, top, right, bottom),
        ):
            self.line(x0, y0, x1, y1)
        for position, growth in cuts:
            x = left + BAR_WIDTH * position
            self.line(x, top, x, top + BAR_HEIGHT * growth)


def _circle_pixels() -> tuple[list[tuple[int, float]], list[int]]:
    """Byte offsets of the pixels inside the circle (with their turn from 12 o'clock) and
    of the pixels on its outline; computed once, because every frame needs them."""
    cx, cy = CIRCLE_CENTRE
    r = CIRCLE_RADIUS
    inside, ring = [], []
    for y in range(cy - r - 4, cy + r + 5):
        for x in range(cx - r - 4, cx + r + 5):
            dx, dy = x - cx, y - cy
            distance = math.hypot(dx, dy)
            offset = (y * WIDTH + x) * 3
            if abs(distance - r) <= LINE_HALF_WIDTH:
                ring.append(offset)
            elif distance < r:
                turn = (math.atan2(dx, -dy) / (2 * math.pi)) % 1.0
                inside.append((offset, turn))
    return inside, ring


def _scene_at(timeline: list[tuple[str, float, float]], t: float) -> int:
    for index, (_, _, end) in enumerate(timeline):
        if t < end:
            return index
    return len(timeline) - 1


def frames(timeline: list[tuple[str, float, float]]) -> Iterator[bytes]:
    """Every frame of the video, as raw RGB bytes, FPS frames per second."""
    canvas = Canvas()
    total = timeline[-1][2]
    last_state, last_frame = None, b""
    for number in range(math.ceil(total * FPS)):
        t = number / FPS
        index = _scene_at(timeline, t)
        scene_id, start, _ = timeline[index]
        scene = SCENES[scene_id]
        before = SCENES[timeline[index - 1][0]] if index else None
        state = (
            _shape_state(scene.circle, before.circle if before else None, t - start),
            _shape_state(scene.bar, before.bar if before else None, t - start),
        )
        if state != last_state:
            canvas.circle(*state[0])
            canvas.bar(*state[1])
            last_state, last_frame = state, bytes(canvas.pixels)
        yield last_frame


def _drawtext(text: str, x: str, y: int, size: int, colour: str, font: str, when: str) -> str:
    if any(c in text for c in "':,;%\\[]"):
        raise ValueError(f"on-screen text {text!r} has a character drawtext would need escaped")
    return (
        f"drawtext=fontfile={font}:expansion=none:text='{text}':fontsize={size}"
        f":fontcolor={colour}:x={x}:y={y}:enable='{when}'"
    )


def text_filters(timeline: list[tuple[str, float, float]], fonts: dict[str, str]) -> list[str]:
    """ffmpeg filters (drawtext, drawbox) for the titles, fractions and labels of each scene."""
    filters = []
    for scene_id, start, end in timeline:
        scene = SCENES[scene_id]
        when = f"between(t,{start:.3f},{end - 0.001:.3f})"
        bold, regular = fonts["bold"], fonts["regular"]
        filters.append(_drawtext(scene.title, "(w-tw)/2", 40, 48, "0x1d5f99", bold, when))
        for f in scene.fractions:
            x = f"{f.centre_x}-tw/2"
            filters.append(_drawtext(f.top, x, FRACTION_TOP_Y, 56, f.top_colour, bold, when))
            filters.append(_drawtext(f.bottom, x, BOTTOM_LABEL_Y, 56, f.bottom_colour, bold, when))
            filters.append(
                f"drawbox=x={f.centre_x - 34}:y=438:w=68:h=6:color=0x2b2b2b:t=fill:enable='{when}'"
            )
        for w in scene.words:
            x = f"{w.x}-tw/2" if w.centred else str(w.x)
            font = bold if w.bold else regular
            filters.append(_drawtext(w.text, x, w.y, w.size, w.colour, font, when))
    return filters
