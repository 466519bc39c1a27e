"""Prompt cleaning: the deterministic rules, the optional LLM, style classes, safety holds.

`clean_prompt(raw)` is what post-import processing and `clean_prompts` use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from annotation.intake.cleaning.llm import (
    LlmUnavailable,
    cached_answer,
    llm_clean,
    llm_configured,
)
from annotation.intake.cleaning.rules import clean_text
from annotation.intake.cleaning.safety import unsafe_words
from annotation.intake.cleaning.style import classify_style
from annotation.models import Prompt

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromptCleaning:
    """What the platform stores for one prompt."""

    cleaned: str
    style: str
    removed: list[dict[str, int | str]] = field(default_factory=list)
    unsafe_words: list[str] = field(default_factory=list)
    cleaner: str = "rules"

    @property
    def is_unsafe(self) -> bool:
        return bool(self.unsafe_words)


def clean_prompt(raw: str, *, allow_network: bool = True) -> PromptCleaning:
    """Clean and classify one raw prompt, and check it against the safety list.

    With PROMPT_CLEANER_LLM_URL set, the LLM's cached answer is used (or asked for when
    `allow_network`); any LLM failure is logged and the rules clean the prompt instead.
    The removed spans always come from the rules (the LLM rewrites; it reports no spans).
    """
    ruled = clean_text(raw)
    found_unsafe = unsafe_words(raw)
    if llm_configured():
        try:
            answer = llm_clean(raw) if allow_network else cached_answer(raw)
        except LlmUnavailable as exc:
            logger.warning("LLM prompt cleaner failed, the rules clean this prompt: %s", exc)
            answer = None
        if answer is not None:
            return PromptCleaning(
                answer.cleaned, answer.style, ruled.removed_dicts(), found_unsafe, "llm"
            )
    return PromptCleaning(
        ruled.cleaned, classify_style(raw), ruled.removed_dicts(), found_unsafe, "rules"
    )


# The Prompt columns a cleaning writes (for bulk_update).
CLEANING_FIELDS = ["cleaned_text", "removed_spans", "style", "is_unsafe", "is_held"]


def apply_cleaning(prompt: Prompt, *, allow_network: bool = True) -> None:
    """Set a prompt's cleaning fields from its raw text (not saved). Unsafe means held."""
    result = clean_prompt(prompt.raw_text, allow_network=allow_network)
    prompt.cleaned_text = result.cleaned
    prompt.removed_spans = result.removed
    prompt.style = result.style
    prompt.is_unsafe = result.is_unsafe
    prompt.is_held = result.is_unsafe
