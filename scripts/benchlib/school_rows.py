"""Report rows for a random-path load: rate, latency and errors, each beside its budget when
it has one."""

from __future__ import annotations

from benchlib.report import MB, Row, SectionResult, at_least, errors_row, info, under
from benchlib.wrk import Numbers


def load_rows(
    result: SectionResult,
    label: str,
    numbers: Numbers,
    clients: int,
    *,
    floor: float | None = None,
    p95_ceiling: float | None = None,
    megabytes: bool = False,
) -> None:
    rate = f"{numbers.per_second:.0f} req/s"
    if megabytes:
        rate += f", {numbers.megabytes_per_second:.0f} MB/s"
    title = f"{label} @{clients}"
    if floor is None:
        result.add(info(title, numbers.per_second, rate))
    else:
        result.add(at_least(title, numbers.per_second, rate, floor, f">= {floor:g} req/s"))
    shown = f"{_ms(numbers.p50)} / {_ms(numbers.p95)} ms"
    if numbers.p95 is None and numbers.requests:
        shown = "every answer slower than the timeout"
    elif numbers.errors.get("socket timeout"):
        shown += " (answers within the timeout)"  # wrk leaves slower ones out
    if p95_ceiling is None:
        result.add(info("  latency p50 / p95", numbers.p95, shown))
    else:
        budget = f"p95 < {p95_ceiling * 1000:g} ms"
        result.add(under("  latency p50 / p95", numbers.p95, shown, p95_ceiling, budget))
    result.add(errors_row(numbers.errors))


def ratio_row(label: str, ours: float, theirs: float, floor: float | None = None) -> Row:
    """ours / theirs, with a floor when the ratio has a budget."""
    ratio = ours / theirs if theirs else None
    shown = "-" if ratio is None else f"{ratio:.2f}"
    if floor is None:
        return info(label, ratio, shown)
    return at_least(label, ratio, shown, floor, f">= {floor:.2f}")


def mb(size: int | None) -> str:
    return "-" if size is None else f"{size / MB:.1f} MB"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"
