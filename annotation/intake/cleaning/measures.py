"""How well cleaning went, measured the same way by the benchmark and the tests."""

from __future__ import annotations

import re

from annotation.intake.cleaning import lexicon
from annotation.intake.cleaning.patterns import trie_pattern

# Tags the cleaned text must not keep: site names and the quality tags of HPD's list.
_LEFTOVER = re.compile(
    rf"(?<!\w)(?:{trie_pattern([*lexicon.SITES, *lexicon.QUALITY_TAGS, *lexicon.RENDER_TAGS])})"
    r"(?!\w)|(?<!\w)\d{1,2}\s?k(?!\w)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]{3,}")
_NOT_SUBJECT = {
    "the", "and", "with", "from", "portrait", "photo", "painting", "illustration", "art",
    "artwork", "digital", "concept", "beautiful", "detailed", "highly", "intricate", "epic",
}  # fmt: skip


def leftover_tags(cleaned: str) -> list[str]:
    """Quality tags, site names or resolution tags still in a cleaned prompt."""
    return [match.group() for match in _LEFTOVER.finditer(cleaned)]


_TAG_WORDS = {
    word
    for phrase in [
        *lexicon.SITES, *lexicon.QUALITY_TAGS, *lexicon.RENDER_TAGS, *lexicon.ARTISTS,
        *lexicon.STYLE_BOOSTERS, *lexicon.CAMERA_TAGS,
    ]
    for word in re.split(r"[\s\-]+", phrase.lower())
}  # fmt: skip
_TAIL = re.compile(r"(?:^|\s)(?:by|style of)\s.*$", re.IGNORECASE)


def subject_words(raw: str) -> set[str]:
    """The subject: content words of the first segment that has any, tags and artists aside.

    Independent of the cleaner's rules: a segment's words after "by" or "style of" are
    taken for an artist, and words of any listed tag, booster, site or artist are not
    content. Empty for a prompt that is only tags.
    """
    for segment in re.split(r"[,;|]|\.\s", raw):
        head = _TAIL.sub("", segment)
        words = {word.lower() for word in _WORD.findall(head)} - _NOT_SUBJECT - _TAG_WORDS
        if words:
            return words
    return set()


def subject_kept(raw: str, cleaned: str) -> bool:
    """The cleaned text is not empty (unless the prompt was) and keeps a subject word."""
    if not raw.strip():
        return not cleaned.strip()
    if not cleaned.strip():
        return False
    words = subject_words(raw)
    if not words:
        return True
    kept = {word.lower() for word in _WORD.findall(cleaned)}
    return bool(words & kept)
