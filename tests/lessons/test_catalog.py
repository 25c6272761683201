import pytest

from lessons.catalog import ContentError, lesson_list, parse_lesson


def test_the_curriculum_has_seven_lessons_in_order():
    numbers = [lesson.number for lesson in lesson_list()]

    assert numbers == list(range(7))
    assert len({lesson.slug for lesson in lesson_list()}) == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter", "front matter must open and close"),
        ("---\nnumber: 1\n---\nbody", "missing front matter: slug"),
        ("---\nnot a pair\n---\n", "without ':'"),
    ],
    ids=["no front matter", "missing keys", "line without a colon"],
)
def test_a_malformed_lesson_file_names_the_problem(text, message):
    with pytest.raises(ContentError, match=message):
        parse_lesson(text, source="x.md")
