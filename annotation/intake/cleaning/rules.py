"""The deterministic prompt cleaner: offline, fast, idempotent, and explicit about what it removed.

`clean_text(raw)` makes one pass per rule family over the prompt:
1. phrases (one compiled regex, lexicons as prefix tries): negative-prompt sections and
   generator parameters (`--ar 16:9`, `Steps: 20, ...`); prompt-weight syntax
   (`(word:1.3)`, `((word))`, `[word]`, `{word}`; the words stay); artist tails
   (`by <artist>`, `painted by ...`, `in the style of <artist>`) and known artists; site
   names (`trending on artstation`, ...), quality tags (`highly detailed`, ...),
   resolution and render tags (`4k`, `8 k`, `octane render`, ...); camera and lens terms
   (`35mm`, `85 mm`, `f/1.8`, `ISO 100`, `DSLR`, `shot on <camera>`); a "style of" tail
   that names a movement, medium or period stays (`in the style of romanticism`,
   `in style of 1 9 7 0 s bbc stop motion`), and so does a "by" tail that opens with an
   article (`inspired by the joker`, `by the pool`);
2. segments (comma-separated) of what is left that are only a style booster
   (`digital painting`, `concept art`, ...) or repeat an earlier segment;
3. repeated words (`jimin jimin`);
4. stray punctuation, spaces and dangling connectors (`, and,`).

Every removal from steps 1-3 is reported as a span of the RAW text with its reason. The
subject is kept: a prompt the rules would leave without a word is returned
whitespace-normalised instead.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from annotation.intake.cleaning import lexicon
from annotation.intake.cleaning.patterns import normalise_phrase, trie_pattern

REASON_NEGATIVE = "negative prompt"
REASON_PARAMETERS = "generator parameters"
REASON_WEIGHT = "prompt-weight syntax"
REASON_ARTIST = "artist"
REASON_SITE = "site name"
REASON_QUALITY = "quality tag"
REASON_RENDER = "resolution or render tag"
REASON_CAMERA = "camera or lens"
REASON_BOOSTER = "style booster"
REASON_DUPLICATE = "duplicate"

_LEXICON_REASONS: dict[str, str] = {}
for _phrases, _reason in (
    (lexicon.RENDER_TAGS, REASON_RENDER),
    (lexicon.QUALITY_TAGS, REASON_QUALITY),
    (lexicon.ARTISTS, REASON_ARTIST),
    (lexicon.SITES, REASON_SITE),
    (lexicon.CAMERA_TAGS, REASON_CAMERA),
):
    for _phrase in _phrases:
        _LEXICON_REASONS[normalise_phrase(_phrase)] = _reason
_BOOSTERS = frozenset(normalise_phrase(phrase) for phrase in lexicon.STYLE_BOOSTERS)
_LONGEST_BOOSTER = max(len(phrase) for phrase in _BOOSTERS)

# "<noun> by <name>" names an artist: the noun stays ("oil painting by X" -> "oil painting").
_BY_NOUNS = frozenset(
    [
        "art",
        "artwork",
        "painting",
        "illustration",
        "photograph",
        "photography",
        "drawing",
        "sketch",
        "portrait",
        "render",
        "landscape",
        "poster",
        "still",
        "shot",
        "print",
        "design",
        "engraving",
        "etching",
        "comic",
    ]
)
# "<verb> by <name>" names an artist too: the verb goes with it ("painted by X").
_BY_VERBS = frozenset(
    [
        "painted",
        "drawn",
        "illustrated",
        "directed",
        "photographed",
        "designed",
        "rendered",
        "sculpted",
        "created",
        "inspired",
    ]
)
_SITE_TRIE = trie_pattern(lexicon.SITES)
_TAIL_OPENINGS = (
    "by ",
    "in the style",
    "in style",
    "the style",
    "style of",
    "art by",
    "artwork by",
)
_SEPARATORS = frozenset(",;|\n.!?")
# An artist's name runs to the end of its segment, to an article that opens the subject
# ("in the style of X a young man ..."), or to the next rule ("by X in the style of Y").
_NAME = re.compile(
    r"\s+(?:(?!\s(?:a|an|the|in|by|on|trending|featured)\s)[^,.;:|\n()\[\]{}!?])+", re.IGNORECASE
)
_ARTIST_AHEAD = re.compile(rf"\s+(?:{trie_pattern(lexicon.ARTISTS)})(?!\w)", re.IGNORECASE)

# Phrases that open a rule whose extent is decided in `_keyword_rule`.
_KEYWORDS = {
    "by": "by",
    "in the style of": "style_of",
    "in style of": "style_of",
    "the style of": "style_of",
    "style of": "style_of",
    "negative prompt": "negative",
    "negative": "negative",
    "steps": "steps",
    "trending on": "site_on",
    "featured on": "site_on",
    "popular on": "site_on",
    "trending in": "site_on",
    "viral on": "site_on",
    "shot on": "camera",
    "shot with": "camera",
    "photographed with": "camera",
    "photographed on": "camera",
    "filmed on": "camera",
    "filmed with": "camera",
    "taken with": "camera",
}
# A "style of" tail naming one of these is a movement, medium or period, not an artist.
_STYLE_KINDS = frozenset(
    [
        "art", "arts", "painting", "paintings", "poster", "posters", "photography", "photo",
        "photos", "film", "films", "movie", "movies", "animation", "motion", "comic",
        "comics", "anime", "manga", "cartoon", "cartoons", "illustration", "print", "prints",
        "woodblock", "folktale", "propaganda", "traditional", "school",
    ]
)  # fmt: skip
_PERIOD = re.compile(r"(?:\d\s?){2,4}s(?!\w)|\w+ism(?!\w)", re.IGNORECASE)
_ARTICLES = ("the ", "a ", "an ")
_CAMERA_AHEAD = re.compile(rf"\s+(?:{trie_pattern(lexicon.CAMERA_TAGS)})(?!\w)", re.IGNORECASE)
_CAMERA_WORDS = 5
_SEGMENT_END = re.compile(r"[,;|\n]|\.(?:\s|$)")
_MASTER = re.compile(
    # Each rule starts after a non-word character, consumed: the engine finds those with
    # a fast scan instead of trying every rule at every position. One trie holds the
    # lexicon phrases and rule keywords, so a position costs a few character tests.
    r"[^\w](?:"
    + "|".join(
        [
            rf"(?P<phrase>{trie_pattern([*_LEXICON_REASONS, *_KEYWORDS])})(?!\w)",
            r"(?P<parameters>--[a-z][\w-]*(?:\s+(?!--)[^\s,]+)?)",
            r"(?P<weight>\(+(?P<weighted>[^()]*?)\s*:\s*-?\d+(?:\.\d+)?\s*\)+"
            r"|\({2,}(?P<emphasised>[^()]*)\){2,}"
            r"|[\[{](?P<bracketed>[^\[\]{}]*)[\]}])",
            r"(?P<resolution>(?:\d{1,2}\s?k(?:\s+(?:resolution|render(?:ed|ing)?))?|\d{3,4}\s?p"
            r"|(?:\d\s?)+(?:mpx|mp|megapixels?))(?!\w))",
            # Focal lengths ("35mm", "8 5 mm lens"), apertures ("f/1.8", "f / 1. 4"), ISO
            # values. The lookaheads let the engine skip this rule at most positions.
            r"(?P<camera>(?:(?=\d)(?:\d\s?){1,3}mm(?:\s+lens(?:es)?)?"
            r"|(?=[fi])(?:f\s?/\s?\d+(?:\s?\.\s?\d+)?|iso\s?\d{2,5}))(?!\w))",
        ]
    )
    + ")",
    re.IGNORECASE,
)
_NEGATIVE_COLON = re.compile(r"\s*:")
_STEPS_VALUE = re.compile(r"\s*:\s*\d")
_SITE_AFTER = re.compile(rf"\s+(?:{_SITE_TRIE}|\w+)(?!\w)", re.IGNORECASE)
_NO_SECTION = re.compile(r"(?<!\S)--no\s.*?(?=\s--|$)", re.DOTALL)
_GROUP_REASONS = {
    "parameters": REASON_PARAMETERS,
    "resolution": REASON_RENDER,
    "camera": REASON_CAMERA,
}
_SEGMENT = re.compile(r"(?:[^,;|\n.!?]|[.!?](?!\s|$))+")
_OTHER_SEPARATORS = (";", "|", "\n", ".", "!", "?")
_SEGMENT_EDGES = " \"'“”*-.!?"
_CONNECTOR_HEADS = ("and ", "with ", "by ", "& ")
_CONNECTOR_TAILS = (" and", " with", " by", " &")
_REPEATED_WORD = re.compile(r"\b([^\W\d_]{2,})\b(?:\s+\1\b)+", re.IGNORECASE)
_CONNECTOR_ENDS = re.compile(r"^(?:(?:and|with|by|&)\s+)+|(?:\s+(?:and|with|by|&))+$")
_DANGLING_PROBES = (" and,", " and ,", " and.", " and .", " and;", " and ;", "&,", "& ,")
_DANGLING_CONNECTOR = re.compile(r"\s+(?:and|&)(?=\s*(?:[,;.]|$))", re.IGNORECASE)
# Stray punctuation: spaces before a mark go, and a run of marks keeps its first
# ("a , , b" -> "a, b"; "wow!!!" -> "wow!"). Plain deletions: no per-match Python work.
_SPACE_BEFORE_MARK = re.compile(r"\s+(?=[,;:.!?])")
_MARKS_AFTER_MARK = re.compile(r"(?<=[,;:.!?])(?:\s*[,;:.!?])+")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]|\{\s*\}")
_LEADING_CONNECTOR = re.compile(r"^(?:(?:and|with|by|&)\b[\s,;:]*)+", re.IGNORECASE)
_TRAILING_CONNECTOR = re.compile(r"(?:[\s,;:]+(?:and|with|by|of|in|on|&))+$", re.IGNORECASE)
_EDGE_PUNCTUATION = " ,;:|-\u2013"
_WORDY = re.compile(r"\w")

Found = list[tuple[int, int, str]]
Runs = list[tuple[int, int, int]]


class RemovedSpan(NamedTuple):
    """Characters [start, end) of the raw prompt, removed for `reason`."""

    start: int
    end: int
    text: str
    reason: str

    def as_dict(self) -> dict[str, int | str]:
        return {"start": self.start, "end": self.end, "text": self.text, "reason": self.reason}


@dataclass(frozen=True)
class CleanedPrompt:
    cleaned: str
    removed: list[RemovedSpan] = field(default_factory=list)

    def removed_dicts(self) -> list[dict[str, int | str]]:
        return [span.as_dict() for span in self.removed]


def clean_text(raw: str) -> CleanedPrompt:
    """Clean one prompt. Pure and deterministic; `clean_text(c.cleaned).cleaned == c.cleaned`."""
    spans = [RemovedSpan(s, e, raw[s:e], reason) for s, e, reason in _phrase_pass(raw)]
    kept, runs = _kept_text(raw, spans)
    if _repeated_words(raw, kept, runs, spans):
        spans.sort()
        kept, runs = _kept_text(raw, spans)
    if _segment_pass(raw, kept, runs, spans):
        spans.sort()
        kept, runs = _kept_text(raw, spans)
    cleaned = tidy(kept)
    if not _WORDY.search(cleaned):
        # The rules took everything: an artist tail swallowed the subject ("in the style
        # of X a young man ..."). Keep the tails, drop the rest; failing that, keep all.
        spans = [span for span in spans if not _is_tail(span)]
        cleaned = tidy(_kept_text(raw, spans)[0])
        if not _WORDY.search(cleaned):
            return CleanedPrompt(tidy(raw), [])
    return CleanedPrompt(cleaned, spans)


def _is_tail(span: RemovedSpan) -> bool:
    head = span.text.lstrip(" ,;").lower()
    return span.reason == REASON_ARTIST and (
        head.startswith(_TAIL_OPENINGS) or head.split(" ", 1)[0] in _BY_VERBS
    )


def tidy(text: str) -> str:
    """Whitespace collapsed, stray and doubled punctuation removed, no dangling 'and'."""
    if "(" in text or "[" in text or "{" in text:
        text = _EMPTY_BRACKETS.sub("", text)
    text = " ".join(text.split())
    lowered = text.lower()
    if (" and" in lowered or "&" in lowered) and (
        lowered.endswith((" and", "&")) or any(probe in lowered for probe in _DANGLING_PROBES)
    ):
        text = _DANGLING_CONNECTOR.sub("", text)
    text = _MARKS_AFTER_MARK.sub("", _SPACE_BEFORE_MARK.sub("", text))
    text = text.strip(_EDGE_PUNCTUATION)
    if text[:4].lower() in ("and ", "with", "by ", "& ", "and,"):
        text = _LEADING_CONNECTOR.sub("", text).strip(_EDGE_PUNCTUATION)
    if text[-4:].lower().endswith((" and", " with", " by", " of", " in", " on", " &")):
        text = _TRAILING_CONNECTOR.sub("", text).strip(_EDGE_PUNCTUATION)
    return text


def _phrase_pass(text: str) -> Found:
    """(start, end, reason) of every phrase-rule match in `text`, in order."""
    found: Found = []
    # The scan regex consumes the non-word character before each rule (a fast C scan finds
    # those); the leading space lets a rule start the prompt.
    _scan(" " + text, 0, len(text), found)
    return found


def _scan(padded: str, start: int, stop: int, found: Found) -> None:
    """Rules over original positions [start, stop) of `padded` (= " " + original)."""
    for match in _MASTER.finditer(padded, start, stop + 1):
        kind = match.lastgroup or ""
        begin, end = match.start(kind) - 1, match.end(kind) - 1
        if found and begin < found[-1][1]:
            continue  # inside an artist tail already taken
        if kind == "weight":
            inner = next(n for n in ("weighted", "emphasised", "bracketed") if match[n] is not None)
            inner_start, inner_end = match.start(inner) - 1, match.end(inner) - 1
            if begin < inner_start:
                found.append((begin, inner_start, REASON_WEIGHT))
            _scan(padded, inner_start, inner_end, found)
            if inner_end < end:
                found.append((inner_end, end, REASON_WEIGHT))
        elif kind == "phrase":
            phrase = match.group(kind).lower()
            if phrase not in _LEXICON_REASONS and phrase not in _KEYWORDS:
                phrase = normalise_phrase(phrase)  # "award - winning" -> "award winning"
            reason = _LEXICON_REASONS.get(phrase)
            if reason is not None:
                found.append((begin, end, reason))
            else:
                rule = _keyword_rule(padded, _KEYWORDS.get(phrase), begin, end, found, stop)
                if rule is not None:
                    found.append(rule)
        elif kind == "parameters" and padded.startswith("--no", begin + 1):
            section = _NO_SECTION.match(padded, begin + 1, stop + 1)
            found.append((begin, section.end() - 1 if section else end, REASON_NEGATIVE))
        else:
            found.append((begin, end, _GROUP_REASONS[kind]))


def _keyword_rule(
    padded: str, kind: str | None, begin: int, end: int, found: Found, stop: int
) -> tuple[int, int, str] | None:
    """The extent of a rule opened by a keyword ("by", "style of", "negative prompt", ...)."""
    if kind == "negative" and _NEGATIVE_COLON.match(padded, end + 1, stop + 1):
        return begin, stop, REASON_NEGATIVE
    if kind == "steps" and _STEPS_VALUE.match(padded, end + 1, stop + 1):
        return begin, stop, REASON_PARAMETERS
    if kind == "site_on":
        site = _SITE_AFTER.match(padded, end + 1, stop + 1)
        return (begin, site.end() - 1, REASON_SITE) if site else None
    if kind == "camera":
        # "shot on <camera>": the rest of a short segment, else a known camera, else nothing.
        segment_end = _SEGMENT_END.search(padded, end + 1, stop + 1)
        tail_end = segment_end.start() - 1 if segment_end else stop
        if len(padded[end + 1 : tail_end + 1].split()) <= _CAMERA_WORDS:
            return begin, tail_end, REASON_CAMERA
        camera = _CAMERA_AHEAD.match(padded, end + 1, stop + 1)
        return (begin, camera.end() - 1, REASON_CAMERA) if camera else None
    if kind in ("by", "style_of"):
        name = _NAME.match(padded, end + 1, stop + 1)
        if name is None or name.group().lstrip().lower().startswith(_ARTICLES):
            return None
        if kind == "style_of":
            if _names_a_style(name.group()):
                return None
            return begin, name.end() - 1, REASON_ARTIST
        tail_start = _by_tail_start(padded, begin, end, found, stop)
        return (tail_start, name.end() - 1, REASON_ARTIST) if tail_start is not None else None
    return None


def _names_a_style(name: str) -> bool:
    """Whether a "style of" tail names a movement, medium or period ("romanticism")."""
    words = name.lower().split()
    return bool(_STYLE_KINDS.intersection(words)) or bool(_PERIOD.search(name))


def _by_tail_start(padded: str, begin: int, end: int, found: Found, stop: int) -> int | None:
    """Where a "by <name>" tail starts when it names an artist, else None.

    "by" names an artist when it opens a segment (removed tags before it do not count),
    follows a noun of art ("painting by") or a verb of making ("painted by", removed
    too), or is followed by a known artist. "surrounded by bubbles" is none of these.
    """
    before = begin
    for found_start, found_end, _reason in reversed(found):
        if padded[found_end + 1 : before + 1].strip():
            break
        before = found_start
    head = padded[: before + 1].rstrip()
    if not head or head[-1] in _SEPARATORS:
        return begin
    previous = head.rsplit(None, 1)[-1]
    if previous.lower() in _BY_VERBS:
        return len(head) - len(previous) - 1
    if previous.lower() in _BY_NOUNS or _ARTIST_AHEAD.match(padded, end + 1, stop + 1):
        return begin
    return None


def _segment_pass(raw: str, kept: str, runs: Runs, spans: list[RemovedSpan]) -> bool:
    """Remove segments that are only a style booster, or repeat an earlier segment."""
    count = len(spans)
    seen: set[str] = set()
    lowered = kept.lower()
    if len(lowered) != len(kept):  # a few characters lengthen when lowered ("İ")
        lowered = kept
    for start, end in _segments(lowered):
        key = lowered[start:end].strip(_SEGMENT_EDGES)
        if not key:
            continue
        if len(key) > _LONGEST_BOOSTER + 8:  # too long to be a booster: only a repeat
            if "  " in key:
                key = " ".join(key.split())
        else:
            if "  " in key or "-" in key or "\t" in key or lowered is kept:
                key = normalise_phrase(key)
            if key.startswith(_CONNECTOR_HEADS) or key.endswith(_CONNECTOR_TAILS):
                key = _CONNECTOR_ENDS.sub("", key)
            if key in _BOOSTERS:
                spans += _spans(raw, runs, start, end, REASON_BOOSTER)
                continue
        if key in seen:
            spans += _spans(raw, runs, start, end, REASON_DUPLICATE)
        else:
            seen.add(key)
    return len(spans) > count


def _segments(text: str) -> list[tuple[int, int]]:
    """(start, end) of each segment: split at , ; | newlines, and . ! ? before a space."""
    if any(mark in text for mark in _OTHER_SEPARATORS):
        return [match.span() for match in _SEGMENT.finditer(text)]
    found = []
    start = 0
    for piece in text.split(","):
        found.append((start, start + len(piece)))
        start += len(piece) + 1
    return found


def _repeated_words(raw: str, kept: str, runs: Runs, spans: list[RemovedSpan]) -> bool:
    words = kept.lower().split()
    if not any(map(operator.eq, words, words[1:])):
        return False
    count = len(spans)
    for match in _REPEATED_WORD.finditer(kept):
        spans += _spans(raw, runs, match.end(1), match.end(), REASON_DUPLICATE)
    return len(spans) > count


def _kept_text(raw: str, spans: list[RemovedSpan]) -> tuple[str, Runs]:
    """The raw text without `spans` (sorted), and its runs (kept offset, raw offset, length)."""
    pieces: list[str] = []
    runs: Runs = []
    cursor = 0
    length = 0
    for span in spans:
        if span.start > cursor:
            runs.append((length, cursor, span.start - cursor))
            pieces.append(raw[cursor : span.start])
            length += span.start - cursor
        cursor = max(cursor, span.end)
    if cursor < len(raw):
        runs.append((length, cursor, len(raw) - cursor))
        pieces.append(raw[cursor:])
    return "".join(pieces), runs


def _blank(raw: str, start: int, end: int) -> bool:
    return raw[start:end].isspace()


def _spans(raw: str, runs: Runs, start: int, end: int, reason: str) -> list[RemovedSpan]:
    """Kept-text range [start, end) as raw spans, one per kept run it touches."""
    found = []
    for kept_start, raw_start, length in runs:
        low, high = max(start, kept_start), min(end, kept_start + length)
        if low < high and not _blank(
            raw, low + raw_start - kept_start, high + raw_start - kept_start
        ):
            offset = raw_start - kept_start
            found.append(
                RemovedSpan(low + offset, high + offset, raw[low + offset : high + offset], reason)
            )
    return found
