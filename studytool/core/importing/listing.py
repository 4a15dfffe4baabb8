"""Cards as a dry run lists them: one line each, in the words the learner wrote.

Stored cloze text is in Anki's syntax (``{{c1::10-20%}}``) whatever the file used; a listing
of what an import would change must be recognisable next to the file, so deletions are
shown in brackets (``[10-20%]``, as the primary format writes them).
"""

from __future__ import annotations

from studytool.core.cloze import CLOZE_PATTERN

LISTING_WIDTH = 70


def question_line(question: str, width: int = LISTING_WIDTH) -> str:
    """``question`` on one line of at most ``width`` characters, deletions as ``[text]``."""
    readable = CLOZE_PATTERN.sub(lambda match: f"[{match.group(2)}]", question)
    line = " ".join(readable.split())
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"
