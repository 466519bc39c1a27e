"""The optional LLM cleaner: any OpenAI-compatible chat-completions endpoint.

Configured by PROMPT_CLEANER_LLM_URL (the API base, e.g. http://llm:8000/v1), _MODEL,
_API_KEY and _TIMEOUT; off while the URL is empty. Answers are cached per prompt text and
model in `LlmCleaning`. Any failure (unreachable, timeout, HTTP error, an answer that is
not the asked-for JSON) raises `LlmUnavailable`; callers fall back to the rules and log it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from annotation.models import LlmCleaning, Style

logger = logging.getLogger(__name__)

STYLES = [Style.PAINTINGS, Style.ANIME, Style.PHOTO, Style.CONCEPT_ART, Style.OTHERS]

INSTRUCTION = (
    "You rewrite text-to-image prompts for a human preference study. Rewrite the prompt "
    "into one fluent description of its content: keep the subject, its attributes, the "
    "scene and any text to be drawn. Remove the words that bias the image's style rather "
    "than describe it: artist names ('by ...', 'in the style of ...'), quality tags "
    "('highly detailed', '8k', 'masterpiece'), site names ('trending on artstation'), "
    "render engines, prompt weights and generator parameters, and contradictory style "
    "words. Then classify the ORIGINAL prompt's style as exactly one of: "
    + ", ".join(f'"{style}"' for style in STYLES)
    + '. Answer with JSON only: {"cleaned": "...", "style": "..."}'
)


class LlmUnavailable(Exception):
    """The endpoint gave no usable answer; the message says why."""


@dataclass(frozen=True)
class LlmAnswer:
    cleaned: str
    style: str


def llm_configured() -> bool:
    return bool(settings.PROMPT_CLEANER_LLM_URL)


def cached_answer(raw: str) -> LlmAnswer | None:
    row = (
        LlmCleaning.objects.filter(
            text_sha256=_sha256(raw), model=settings.PROMPT_CLEANER_LLM_MODEL
        )
        .only("cleaned_text", "style")
        .first()
    )
    return LlmAnswer(row.cleaned_text, row.style) if row else None


def llm_clean(raw: str) -> LlmAnswer:
    """The model's cleaning of `raw`, from the cache or one call. Raises LlmUnavailable."""
    cached = cached_answer(raw)
    if cached is not None:
        return cached
    answer = _parse(_call(raw), raw)
    try:
        with transaction.atomic():
            LlmCleaning.objects.create(
                text_sha256=_sha256(raw),
                model=settings.PROMPT_CLEANER_LLM_MODEL,
                cleaned_text=answer.cleaned,
                style=answer.style,
            )
    except IntegrityError:
        pass  # another worker cached the same prompt first
    return answer


def prefetch(texts: list[str]) -> int:
    """Ask the model about every text not cached yet, outside any transaction.

    Returns how many answers were fetched; failures are logged and skipped (those
    prompts are cleaned by the rules).
    """
    fetched = 0
    for raw in dict.fromkeys(texts):
        if cached_answer(raw) is not None:
            continue
        try:
            llm_clean(raw)
        except LlmUnavailable as exc:
            logger.warning("LLM prompt cleaner failed, the rules clean this prompt: %s", exc)
        else:
            fetched += 1
    return fetched


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _call(raw: str) -> str:
    url = settings.PROMPT_CLEANER_LLM_URL.rstrip("/") + "/chat/completions"
    body = json.dumps(
        {
            "model": settings.PROMPT_CLEANER_LLM_MODEL,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": INSTRUCTION},
                {"role": "user", "content": raw},
            ],
        }
    ).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if settings.PROMPT_CLEANER_LLM_API_KEY:
        headers["Authorization"] = f"Bearer {settings.PROMPT_CLEANER_LLM_API_KEY}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.PROMPT_CLEANER_LLM_TIMEOUT) as reply:
            payload = json.loads(reply.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise LlmUnavailable(f"{url}: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise LlmUnavailable(f"{url} answered with something that is not JSON ({exc})") from exc
    try:
        return str(payload["choices"][0]["message"]["content"])
    except (KeyError, IndexError, TypeError) as exc:
        raise LlmUnavailable(f"{url} answered without choices[0].message.content") from exc


def _parse(content: str, raw: str) -> LlmAnswer:
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LlmUnavailable(f"the model's answer is not JSON: {content[:200]!r}") from exc
    if not isinstance(data, dict):
        raise LlmUnavailable(f"the model's answer is not a JSON object: {content[:200]!r}")
    cleaned, style = data.get("cleaned"), data.get("style")
    if not isinstance(cleaned, str) or not cleaned.strip():
        raise LlmUnavailable("the model's answer has no cleaned text")
    if len(cleaned) > 2 * len(raw) + 100:
        raise LlmUnavailable("the model's cleaned text is far longer than the prompt")
    if style not in STYLES:
        raise LlmUnavailable(f"the model's style {style!r} is not one of {STYLES}")
    return LlmAnswer(" ".join(cleaned.split()), str(style))
