"""The curriculum as data: one markdown file per lesson in lessons/content, with front matter.

Front matter is `key: value` lines between two `---` lines; the body is markdown. Other apps
receive frozen `LessonSummary` objects, never file contents or model instances.
"""

import dataclasses
import functools
from pathlib import Path

CONTENT_DIR = Path(__file__).resolve().parent / "content"
REQUIRED = ("number", "slug", "title", "era", "minutes", "summary", "what_you_do", "misconception")


class ContentError(ValueError):
    """A lesson file is malformed; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class LessonSummary:
    number: int
    slug: str
    title: str
    era: str
    minutes: int
    summary: str
    what_you_do: str
    misconception: str
    body: str


def parse_lesson(text: str, *, source: str) -> LessonSummary:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in (ln.strip() for ln in lines[1:]):
        raise ContentError(f"{source}: front matter must open and close with '---'")
    end = next(i for i, ln in enumerate(lines[1:], start=1) if ln.strip() == "---")
    meta: dict[str, str] = {}
    for ln in lines[1:end]:
        if not ln.strip():
            continue
        key, sep, value = ln.partition(":")
        if not sep:
            raise ContentError(f"{source}: front matter line without ':': {ln!r}")
        meta[key.strip()] = value.strip().strip('"')
    missing = [k for k in REQUIRED if not meta.get(k)]
    if missing:
        raise ContentError(f"{source}: missing front matter: {', '.join(missing)}")
    try:
        number, minutes = int(meta["number"]), int(meta["minutes"])
    except ValueError as exc:
        raise ContentError(f"{source}: number and minutes must be whole numbers") from exc
    fields = {k: meta[k] for k in REQUIRED} | {"number": number, "minutes": minutes}
    return LessonSummary(**fields, body="\n".join(lines[end + 1 :]).strip())


@functools.cache
def lesson_list() -> tuple[LessonSummary, ...]:
    """Every lesson, in curriculum order."""
    lessons = [
        parse_lesson(path.read_text(encoding="utf-8"), source=path.name)
        for path in sorted(CONTENT_DIR.glob("*.md"))
    ]
    return tuple(sorted(lessons, key=lambda lesson: lesson.number))
