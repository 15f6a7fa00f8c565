"""The wildcard patterns of a Choice rule's ``StringMatches``, matched in linear time.

A pattern is literal text in which ``*`` stands for any run of characters (newlines too, and
the empty run); ``\\*`` is a literal star and ``\\\\`` a literal backslash. A backslash before
any other character makes that character literal, and a trailing backslash is itself.

Why not a regular expression: ``*`` as ``.*`` backtracks, so ``*a*a*a*b`` against a few
thousand ``a`` takes hours, and Python's ``re`` holds the interpreter lock all the while, so
one Choice stalls every thread of a server. A pattern whose only operator is ``*`` needs no
backtracking at all: split it at its stars into literal segments; the first segment must
start the text, the last must end it, and each one between is best taken at its leftmost
occurrence after the previous one (taking it further right can only leave less room for the
rest). With ``str.find`` that is O(n + m) for typical inputs and O(n * m) at worst.

Worked example: ``log-*.txt`` is the segments ``log-`` and ``.txt``: ``log-2024.txt`` starts
with the first and ends with the last, with ``2024`` left for the star, so it matches;
``log.txt`` is too short to hold both.
"""

from __future__ import annotations

__all__ = ["Wildcard", "compile_wildcard"]


class Wildcard:
    """A compiled ``StringMatches`` pattern; ``source`` is the pattern as written."""

    __slots__ = ("_segments", "_starred", "source")

    def __init__(self, source: str, segments: tuple[str, ...], starred: bool) -> None:
        self.source = source
        # With no star the pattern is one segment, matched by equality; with stars, the
        # literal text before the first star, between stars (empty runs dropped, as ``**``
        # is ``*``), and after the last one.
        self._segments = segments
        self._starred = starred

    def matches(self, text: str) -> bool:
        """Whether the whole of ``text`` matches the pattern."""
        segments = self._segments
        if not self._starred:
            return text == segments[0]
        head, tail = segments[0], segments[-1]
        if len(text) < len(head) + len(tail):
            return False
        if not text.startswith(head) or not text.endswith(tail):
            return False
        position, end = len(head), len(text) - len(tail)
        for segment in segments[1:-1]:
            found = text.find(segment, position, end)
            if found < 0:
                return False
            position = found + len(segment)
        return True

    def __repr__(self) -> str:
        return f"Wildcard({self.source!r})"


def compile_wildcard(pattern: str) -> Wildcard:
    """Compile a ``StringMatches`` pattern (every string is a valid pattern)."""
    segments: list[str] = []
    current: list[str] = []
    starred = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            current.append(pattern[index + 1])
            index += 2
            continue
        if char == "*":
            starred = True
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    segments.append("".join(current))
    if starred:
        # Keep the first and last segments (anchored, maybe empty); the empty ones between
        # stars constrain nothing.
        segments = [segments[0], *(s for s in segments[1:-1] if s), segments[-1]]
    return Wildcard(pattern, tuple(segments), starred)
