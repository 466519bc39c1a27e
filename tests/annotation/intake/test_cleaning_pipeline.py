"""Cleaning in the platform: after import, the LLM path (a real local HTTP server), commands."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from annotation.intake.batch_processing import process_batch
from annotation.intake.cleaning import clean_prompt
from annotation.intake.importing import import_batch
from annotation.intake.prompt_review import ReviewError, approve_prompts, edit_prompt
from annotation.models import LlmCleaning, Prompt, Style, Task
from tests.factories.batches import write_batch, write_manifest

DATA = Path(__file__).resolve().parents[3] / "data" / "sd_prompts_1k.jsonl"


class FakeChatServer:
    """An OpenAI-compatible /chat/completions endpoint whose behaviour a test sets."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.calls: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.calls.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                if server.mode == "slow":
                    time.sleep(1.5)
                if server.mode == "error":
                    self.send_response(500)
                    self.end_headers()
                    return
                content = {
                    "ok": json.dumps({"cleaned": "a fox in the snow", "style": "real photo"}),
                    "fenced": '```json\n{"cleaned": "a fox", "style": "paintings"}\n```',
                    "garbage": "Sure! Here is your cleaned prompt: a fox",
                    "bad_style": json.dumps({"cleaned": "a fox", "style": "watercolour"}),
                    "slow": json.dumps({"cleaned": "late", "style": "others"}),
                }[server.mode]
                payload = json.dumps(
                    {"choices": [{"message": {"role": "assistant", "content": content}}]}
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat_server(settings: Any) -> Iterator[FakeChatServer]:
    server = FakeChatServer()
    settings.PROMPT_CLEANER_LLM_URL = server.url
    settings.PROMPT_CLEANER_LLM_MODEL = "fake-model"
    settings.PROMPT_CLEANER_LLM_API_KEY = "secret-key"
    settings.PROMPT_CLEANER_LLM_TIMEOUT = 0.5
    yield server
    server.close()


@pytest.mark.django_db
def test_llm_answer_is_used_and_cached(chat_server: FakeChatServer) -> None:
    raw = "a fox in the snow, by greg rutkowski, artstation"
    result = clean_prompt(raw)
    assert (result.cleaned, result.style, result.cleaner) == (
        "a fox in the snow",
        Style.PHOTO,
        "llm",
    )
    assert len(chat_server.calls) == 1
    call = chat_server.calls[0]
    assert call["path"] == "/v1/chat/completions"
    assert call["auth"] == "Bearer secret-key"
    assert call["body"]["model"] == "fake-model"
    assert call["body"]["messages"][1] == {"role": "user", "content": raw}
    assert clean_prompt(raw).cleaned == "a fox in the snow"
    assert len(chat_server.calls) == 1  # the second answer came from the cache
    assert LlmCleaning.objects.count() == 1
    chat_server.mode = "fenced"
    assert clean_prompt("another fox").style == Style.PAINTINGS


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["garbage", "bad_style", "error", "slow"])
def test_llm_failures_fall_back_to_the_rules_and_are_logged(
    chat_server: FakeChatServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    chat_server.mode = mode
    raw = "a fox in the snow, by greg rutkowski, artstation"
    with caplog.at_level(logging.WARNING):
        result = clean_prompt(raw)
    assert (result.cleaned, result.cleaner) == ("a fox in the snow", "rules")
    assert "LLM prompt cleaner failed" in caplog.text
    assert LlmCleaning.objects.count() == 0


@pytest.mark.django_db
def test_llm_server_down_falls_back(settings: Any) -> None:
    settings.PROMPT_CLEANER_LLM_URL = "http://127.0.0.1:9/v1"
    settings.PROMPT_CLEANER_LLM_TIMEOUT = 0.5
    assert clean_prompt("a fox, 8k").cleaned == "a fox"


def _import(tmp_path: Path, prompts: list[str]) -> int:
    folder = write_batch(tmp_path / "b", groups=len(prompts))
    lines = [
        {
            "prompt": prompt,
            "images": [{"path": f"img/{n:04d}-0.png"}, {"path": f"img/{n:04d}-1.png"}],
        }
        for n, prompt in enumerate(prompts)
    ]
    write_manifest(folder, lines)
    return import_batch(folder, "cleaning").batch


@pytest.mark.django_db
def test_processing_cleans_classifies_and_holds_unsafe_prompts(tmp_path: Path) -> None:
    raws = [json.loads(line)["prompt"] for line in DATA.read_text(encoding="utf-8").splitlines()]
    gore = next(raw for raw in raws if "Al Gore" in raw)
    bamberg = next(raw for raw in raws if raw.startswith("Bamberg"))
    batch = _import(tmp_path, [bamberg, gore])
    assert process_batch(batch) is True
    clean = Prompt.objects.get(raw_text=bamberg)
    assert (clean.cleaned_text, clean.style, clean.is_held) == ("Bamberg", Style.PAINTINGS, False)
    assert clean.removed_spans == [
        {"start": 8, "end": 24, "text": "painted by Monet", "reason": "artist"}
    ]
    held = Prompt.objects.get(raw_text=gore)
    assert held.is_unsafe and held.is_held
    assert list(Task.objects.filter(prompt=held).values_list("is_active", flat=True)) == [False]
    assert list(Task.objects.filter(prompt=clean).values_list("is_active", flat=True)) == [True]

    assert approve_prompts(held.project, [held.pk, clean.pk]) == 1
    held.refresh_from_db()
    assert not held.is_held and held.is_unsafe
    assert list(Task.objects.filter(prompt=held).values_list("is_active", flat=True)) == [True]


@pytest.mark.django_db
def test_processing_with_the_llm_fetches_before_the_lock(
    tmp_path: Path, chat_server: FakeChatServer
) -> None:
    batch = _import(tmp_path, ["a fox, 8k, artstation"])
    assert process_batch(batch) is True
    prompt = Prompt.objects.get()
    assert (prompt.cleaned_text, prompt.style) == ("a fox in the snow", Style.PHOTO)
    assert len(chat_server.calls) == 1


@pytest.mark.django_db
def test_an_admin_edit_is_checked_and_kept(tmp_path: Path) -> None:
    batch = _import(tmp_path, ["a fox, 8k"])
    process_batch(batch)
    prompt = Prompt.objects.get()
    with pytest.raises(ReviewError, match=r"empty.*style 'oil'"):
        edit_prompt(prompt, "   ", "oil")
    prompt.refresh_from_db()
    assert prompt.cleaned_text == "a fox"
    edit_prompt(prompt, " a  red fox ", Style.PAINTINGS)
    prompt.refresh_from_db()
    assert (prompt.cleaned_text, prompt.style) == ("a red fox", Style.PAINTINGS)


@pytest.mark.django_db
def test_clean_prompts_command_on_a_file(tmp_path: Path) -> None:
    source = tmp_path / "prompts.jsonl"
    lines = DATA.read_text(encoding="utf-8").splitlines()[:50]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = StringIO()
    call_command("clean_prompts", "--input", str(source), stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 50
    assert [row["prompt"] for row in rows] == [json.loads(line)["prompt"] for line in lines]
    assert all({"prompt", "cleaned", "style", "removed"} <= set(row) for row in rows)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a fox"}\nnot json\n{"text": "x"}\n', encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("clean_prompts", "--input", str(bad), stdout=StringIO(), stderr=err)
    assert "line 2: is not JSON" in err.getvalue()
    assert 'line 3: needs a non-empty "prompt"' in err.getvalue()


@pytest.mark.django_db
def test_clean_prompts_command_on_a_project(tmp_path: Path) -> None:
    batch = _import(tmp_path, ["a fox, 8k", "a nude fox"])
    Prompt.objects.update(cleaned_text="stale")
    process_batch(batch)
    out = StringIO()
    call_command("clean_prompts", "--project", "cleaning", stdout=out)
    assert json.loads(out.getvalue()) == {"prompts": 2, "changed": 2, "newly_held": 1}
    assert set(Prompt.objects.values_list("cleaned_text", flat=True)) == {"a fox", "a nude fox"}
    assert Prompt.objects.get(raw_text="a nude fox").is_held
    with pytest.raises(CommandError, match="no project 'nope'"):
        call_command("clean_prompts", "--project", "nope")
