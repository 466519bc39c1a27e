import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.intake import clean_prompt, reclean_project
from annotation.models import Project
from core.progress_bar import TqdmProgress


class Command(BaseCommand):
    help = (
        "Clean prompts of style words, classify their style and screen them. --input FILE.jsonl "
        '(lines {"prompt": ...}) writes one JSON line per prompt to stdout: {"prompt", '
        '"cleaned", "style", "removed"}; --project SLUG re-cleans the stored prompts.'
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--input", type=Path, help="A JSON-lines file of prompts.")
        source.add_argument("--project", help="Re-clean this project's stored prompts.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["project"]:
            project = Project.objects.filter(slug=options["project"]).first()
            if project is None:
                raise CommandError(
                    f"no project {options['project']!r}; list them with GET /api/v1/projects/"
                )
            progress = TqdmProgress("prompt")
            counts = reclean_project(project, progress)
            progress.close()
            self.stdout.write(json.dumps(counts))
            return
        prompts = self._read(options["input"])
        progress = TqdmProgress("prompt")
        progress.start("cleaning prompts", len(prompts))
        for raw in prompts:
            result = clean_prompt(raw)
            line = {
                "prompt": raw,
                "cleaned": result.cleaned,
                "style": result.style,
                "removed": result.removed,
            }
            if result.is_unsafe:
                line["unsafe_words"] = result.unsafe_words
            self.stdout.write(json.dumps(line, ensure_ascii=False))
            progress.advance()
        progress.close()

    def _read(self, path: Path) -> list[str]:
        """Every prompt of the file, or a CommandError listing every bad line."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file; give a JSON-lines file of prompts") from None
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{path}: is not UTF-8 text ({exc.reason}); re-save it as UTF-8"
            ) from None
        prompts, problems = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{path} line {number}: is not JSON ({exc.msg})")
                continue
            prompt = data.get("prompt") if isinstance(data, dict) else None
            if not isinstance(prompt, str) or not prompt.strip():
                problems.append(
                    f'{path} line {number}: needs a non-empty "prompt" string, '
                    'like {"prompt": "a red fox"}'
                )
                continue
            prompts.append(prompt)
        if problems:
            for problem in problems:
                self.stderr.write(f"  {problem}")
            raise CommandError(
                f"{len(problems)} problem(s) in {path}; nothing was cleaned. "
                "Fix them and run again."
            )
        return prompts
