"""The default safety filter: a word list. A match holds the prompt for an admin's review."""

from __future__ import annotations

import re

from django.conf import settings

from annotation.intake.cleaning import lexicon
from annotation.intake.cleaning.patterns import trie_pattern

_UNSAFE = re.compile(rf"(?<!\w)(?:{trie_pattern(lexicon.UNSAFE_WORDS)})(?!\w)", re.IGNORECASE)


def unsafe_words(raw: str) -> list[str]:
    """The listed unsafe words (and PROMPT_SAFETY_EXTRA_WORDS) found in a prompt, in order."""
    found = [match.group() for match in _UNSAFE.finditer(raw)]
    extra = getattr(settings, "PROMPT_SAFETY_EXTRA_WORDS", [])
    if extra:
        lowered = f" {raw.lower()} "
        found += [
            word for word in extra if re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", lowered)
        ]
    return found


def is_unsafe(raw: str) -> bool:
    return bool(unsafe_words(raw))
