"""The redline rule: line diff, word diff inside changed lines, counts."""

from __future__ import annotations

import dataclasses

import pytest

from activities.seed import DEMO_DRAFT_NAME, load_text
from workflows.rules.redline import Redline, redline, word_diff


def test_identical_texts_are_returned_unchanged() -> None:
    text = "SUMMARY/PURPOSE\n\nTo perform a variety of technical activities.\n"
    result = redline(text, text)
    assert result == Redline(text=text, lines_added=0, lines_removed=0)
    assert not result.changed


def test_a_changed_word_is_shown_inside_its_line() -> None:
    old = "HEADING\nProcess death claims as directed.\nFooter\n"
    new = "HEADING\nProcess death claims as needed.\nFooter\n"
    result = redline(old, new)
    assert result.text == "HEADING\nProcess death claims as [-directed.-]{+needed.+}\nFooter\n"
    assert (result.lines_added, result.lines_removed) == (1, 1)


def test_removed_and_added_words_keep_the_spacing_of_the_line() -> None:
    assert word_diff("the quick brown fox", "the brown fox") == "the [-quick-] brown fox"
    assert word_diff("the brown fox", "the quick brown fox") == "the {+quick+} brown fox"
    assert word_diff("CSB:\tClass No: 1821", "CSB: 20101005\tClass No: 1821") == (
        "CSB: {+20101005+}\tClass No: 1821"
    )


def test_an_added_line_is_marked_whole() -> None:
    result = redline(
        "1. Provide support.\n2. Maintain records.\n",
        "1. Provide support.\n2. Maintain records.\n3. Create HR webpage content.\n",
    )
    assert result.text == ("1. Provide support.\n2. Maintain records.\n{+3. Create HR webpage content.+}\n")
    assert (result.lines_added, result.lines_removed) == (1, 0)


def test_a_removed_line_is_marked_whole() -> None:
    result = redline(
        "A. Test modifications.\nB. Perform related tasks.\nC. Keep files.\n",
        "A. Test modifications.\nC. Keep files.\n",
    )
    assert result.text == "A. Test modifications.\n[-B. Perform related tasks.-]\nC. Keep files.\n"
    assert (result.lines_added, result.lines_removed) == (0, 1)


def test_an_unrelated_replacement_is_a_removed_and_an_added_line() -> None:
    result = redline("keep\nPhysical Requirements\nkeep too\n", "keep\nWork Environment\nkeep too\n")
    assert result.text == "keep\n[-Physical Requirements-]\n{+Work Environment+}\nkeep too\n"
    assert (result.lines_added, result.lines_removed) == (1, 1)


def test_blank_lines_are_layout_and_not_counted() -> None:
    result = redline("a\n\nb\n", "a\nb\n\n")
    assert (result.lines_added, result.lines_removed) == (0, 0)


def test_windows_line_endings_are_normalised() -> None:
    assert redline("one\r\ntwo\r\n", "one\ntwo\n") == Redline("one\ntwo\n", 0, 0)
    result = redline("one\r\ntwo\r\n", "one\r\nthree\r\n")
    assert "\r" not in result.text
    assert result.text == "one\n[-two-]\n{+three+}\n"


def test_the_result_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        redline("a", "b").text = "c"  # type: ignore[misc]


def test_duluth_2010_to_2023_redline_shows_the_published_changes() -> None:
    old, new = load_text("1821"), load_text(DEMO_DRAFT_NAME)
    result = redline(old, new)
    assert result.lines_added > 0 and result.lines_removed > 0
    assert "[-FUNCTIONAL AREAS:-]" in result.text
    assert "develop and maintain [-various-] a variety of databases" in result.text
    assert "Resolution: [-10-0608R-]" in result.text
    assert redline(old, new) == result  # deterministic
