"""Compiling word lists into fast regular expressions (a prefix trie, not a flat `a|b|c`).

A flat alternation of hundreds of phrases makes the regex engine try every phrase at
every position; a trie shares prefixes, so each position costs a few character tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A space inside a listed phrase matches any run of spaces or hyphens in a prompt.
PHRASE_GAP = r"[\s\-]+"
_GAP = re.compile(r"[\s\-]+")


def normalise_phrase(text: str) -> str:
    """The lookup key of a matched phrase: lower case, gaps collapsed to one space."""
    return _GAP.sub(" ", text.lower()).strip()


def trie_pattern(phrases: Iterable[str]) -> str:
    """A regex source matching any of `phrases` (lower case), longest first."""
    trie: dict[str, dict] = {}
    for phrase in phrases:
        node = trie
        for char in normalise_phrase(phrase):
            node = node.setdefault(char, {})
        node[""] = {}
    return _node_pattern(trie)


def _node_pattern(node: dict[str, dict]) -> str:
    ends_here = "" in node
    branches = []
    for char in sorted(c for c in node if c):
        head = PHRASE_GAP if char == " " else re.escape(char)
        branches.append(head + _node_pattern(node[char]))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends_here:
        return f"(?:{body})?"
    return body
