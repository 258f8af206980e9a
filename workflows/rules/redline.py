"""A redline between two texts of a job description, in the style of ``wdiff``.

Pure and deterministic: no I/O, no clock, safe to call inside a workflow. The old and new
texts are compared line by line; lines only in the old text are shown as ``[-line-]``, lines
only in the new text as ``{+line+}``, unchanged lines as they are. Where a block of lines was
replaced, each old line is paired with the most similar new line and the pair is shown as one
line with a word-level diff: ``the [-quick-]{+slow+} fox``.

Blank lines are layout, not content: blank lines of the new text are kept as they are, blank
lines only the old text had are kept only between removed lines (so a removed passage keeps its
paragraphs), and neither counts as a line added or removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

REMOVED_OPEN, REMOVED_CLOSE = "[-", "-]"
ADDED_OPEN, ADDED_CLOSE = "{+", "+}"

PAIR_CUTOFF = 0.5
"""Word similarity (0..1) from which an old and a new line count as one line that changed."""

MAX_PAIRING_WORK = 40_000
"""Above this many line comparisons in one replaced block, lines are not paired (stays fast)."""

_WORD = re.compile(r"(\S+)(\s*)")


@dataclass(frozen=True)
class Redline:
    """The redline text and how many non-blank lines were added and removed.

    A changed line counts once as removed and once as added, as in a line-based ``diff``.
    """

    text: str
    lines_added: int
    lines_removed: int

    @property
    def changed(self) -> bool:
        """Whether the two texts differ in anything but blank lines and spacing."""
        return bool(self.lines_added or self.lines_removed)


def redline(old: str, new: str) -> Redline:
    """Compares ``old`` with ``new`` and renders the differences.

    Args:
        old: The text in force (e.g. the current job description).
        new: The proposed text.

    Returns:
        The redline; for identical texts (after normalising ``\\r\\n`` and ``\\r`` to ``\\n``)
        its text is the input itself and both counts are zero.
    """
    old_lines = _normalise(old).split("\n")
    new_lines = _normalise(new).split("\n")
    out = _Output()
    matcher = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.lines.extend(old_lines[i1:i2])
        elif tag == "delete":
            out.removed_lines(old_lines[i1:i2])
        elif tag == "insert":
            out.added_lines(new_lines[j1:j2])
        else:
            _replace_block(old_lines[i1:i2], new_lines[j1:j2], out)
    return Redline(text="\n".join(out.lines), lines_added=out.added, lines_removed=out.removed)


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _Output:
    """Accumulates rendered lines and the counts."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.added = 0
        self.removed = 0

    def removed_lines(self, lines: list[str]) -> None:
        marked = [bool(line.strip()) for line in lines]
        if True not in marked:
            return
        first, last = marked.index(True), len(marked) - 1 - marked[::-1].index(True)
        for line in lines[first : last + 1]:
            if line.strip():
                self.lines.append(_mark_removed(line))
                self.removed += 1
            else:
                self.lines.append(line)

    def added_lines(self, lines: list[str]) -> None:
        for line in lines:
            if line.strip():
                self.lines.append(_mark_added(line))
                self.added += 1
            else:
                self.lines.append(line)

    def changed_line(self, old: str, new: str) -> None:
        if old.split() == new.split():
            self.lines.append(new)
            return
        self.lines.append(word_diff(old, new))
        self.removed += 1
        self.added += 1


def _mark_removed(line: str) -> str:
    lead, core, trail = _split_ws(line)
    return f"{lead}{REMOVED_OPEN}{core}{REMOVED_CLOSE}{trail}"


def _mark_added(line: str) -> str:
    lead, core, trail = _split_ws(line)
    return f"{lead}{ADDED_OPEN}{core}{ADDED_CLOSE}{trail}"


def _split_ws(line: str) -> tuple[str, str, str]:
    core = line.strip()
    lead = line[: len(line) - len(line.lstrip())]
    trail = line[len(lead) + len(core) :]
    return lead, core, trail


def _replace_block(old: list[str], new: list[str], out: _Output) -> None:
    """Renders a block of old lines replaced by new ones, pairing similar lines."""
    if not old:
        out.added_lines(new)
        return
    if not new:
        out.removed_lines(old)
        return
    pair = _best_pair(old, new) if len(old) * len(new) <= MAX_PAIRING_WORK else None
    if pair is None:
        out.removed_lines(old)
        out.added_lines(new)
        return
    i, j = pair
    _replace_block(old[:i], new[:j], out)
    out.changed_line(old[i], new[j])
    _replace_block(old[i + 1 :], new[j + 1 :], out)


def _best_pair(old: list[str], new: list[str]) -> tuple[int, int] | None:
    """The most similar (old, new) pair of non-blank lines, if any reaches ``PAIR_CUTOFF``."""
    best_ratio = PAIR_CUTOFF
    best: tuple[int, int] | None = None
    matcher: SequenceMatcher[str] = SequenceMatcher(None, autojunk=False)
    old_words = [line.split() for line in old]
    for j, new_line in enumerate(new):
        new_words = new_line.split()
        if not new_words:
            continue
        matcher.set_seq2(new_words)
        for i, words in enumerate(old_words):
            if not words:
                continue
            matcher.set_seq1(words)
            if (
                matcher.real_quick_ratio() >= best_ratio
                and matcher.quick_ratio() >= best_ratio
                and (ratio := matcher.ratio()) >= best_ratio
                and (best is None or ratio > best_ratio)
            ):
                best_ratio, best = ratio, (i, j)
    return best


def word_diff(old: str, new: str) -> str:
    """One line's word-level diff: ``[-removed words-]{+added words+}``, spacing kept.

    Args:
        old: The old line.
        new: The new line.

    Returns:
        The new line with removed words shown in ``[-...-]`` and added ones in ``{+...+}``.
    """
    lead = new[: len(new) - len(new.lstrip())] if new.strip() else old[: len(old) - len(old.lstrip())]
    old_tokens = _WORD.findall(old)
    new_tokens = _WORD.findall(new)
    old_words = [word for word, _ in old_tokens]
    new_words = [word for word, _ in new_tokens]
    units: list[tuple[str, str]] = []  # (rendered unit, separator after it)
    matcher = SequenceMatcher(None, old_words, new_words, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            units.extend(new_tokens[j1:j2])
            continue
        removed = _join(old_tokens[i1:i2])
        added = _join(new_tokens[j1:j2])
        text = ""
        if removed:
            text += f"{REMOVED_OPEN}{removed}{REMOVED_CLOSE}"
        if added:
            text += f"{ADDED_OPEN}{added}{ADDED_CLOSE}"
        sep = (new_tokens[j2 - 1] if j2 > j1 else old_tokens[i2 - 1])[1]
        units.append((text, sep))
    rendered = lead
    for index, (text, sep) in enumerate(units):
        rendered += text
        if index < len(units) - 1:
            rendered += sep or " "
    return rendered


def _join(tokens: list[tuple[str, str]]) -> str:
    """Words with their own separators, without the separator after the last one."""
    return "".join(word + sep for word, sep in tokens[:-1]) + (tokens[-1][0] if tokens else "")
