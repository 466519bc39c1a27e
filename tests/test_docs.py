"""Comments, docstrings and docs cite only files the repository has.

Every text file of the working tree that git would commit (*.py, *.md, *.html, *.js, *.sh,
*.yml) is scanned for path-like references: a token that starts with one of the
repository's top-level folders and ends in a file suffix (`annotation/intake/manifest.py`,
`docs/hpd_v2.md#metrics`). Each must name a file of the tree; a `.html` name may also be a
template name (a file under templates/), and a path git ignores is an output the code
writes (benchmarks/results/...), not a citation. In Markdown files, relative links are
resolved from the file's folder too. An anchor (`#section`) must name a heading of the
Markdown file it points into. Nothing may cite the design notes kept outside the
repository: the patterns in FORBIDDEN.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent
SCANNED_SUFFIXES = (".py", ".md", ".html", ".js", ".sh", ".yml")
CITED_SUFFIXES = r"py|md|html|js|css|sh|ya?ml|jsonl?|toml|txt|cfg|ini"
# Files outside the repository that nothing in it may cite (the design notes and
# reference texts a clone does not contain).
FORBIDDEN = re.compile(r"\.\./shared|DESIGN\.md|HPD_V2\.md")
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def path_pattern(top_folders: set[str]) -> re.Pattern[str]:
    """A reference: a known top-level folder, a path, a file suffix, an optional anchor."""
    tops = "|".join(sorted(re.escape(top) for top in top_folders))
    return re.compile(
        rf"(?<![\w./-])((?:{tops})/[\w./-]*?\.(?:{CITED_SUFFIXES}))(?:#([\w-]+))?(?![\w/-])"
    )


def slug(heading: str) -> str:
    """The anchor a Markdown renderer (GitHub's rule) gives a heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def markdown_anchors(text: str) -> set[str]:
    """The anchors of a Markdown text's headings (headings inside code fences are not)."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    in_fence = False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if match is None:
            continue
        anchor = slug(match.group(1))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.add(anchor if count == 0 else f"{anchor}-{count}")
    return anchors


@dataclass
class Tree:
    """What references are checked against: the files, which paths git ignores, and how
    to read a Markdown file (for its headings)."""

    files: set[str]
    read: Callable[[str], str]
    ignored: Callable[[str], bool] = lambda path: False
    anchors: dict[str, set[str]] = field(default_factory=dict)

    @property
    def top_folders(self) -> set[str]:
        return {path.split("/", 1)[0] for path in self.files if "/" in path}

    def anchors_of(self, path: str) -> set[str]:
        if path not in self.anchors:
            self.anchors[path] = markdown_anchors(self.read(path))
        return self.anchors[path]

    @classmethod
    def of_repository(cls, root: Path) -> Tree:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        files = {path for path in listed if (root / path).is_file()}

        def ignored(path: str) -> bool:
            found = subprocess.run(
                ["git", "check-ignore", "--quiet", "--no-index", path], cwd=root, check=False
            )
            return found.returncode == 0

        return cls(files, lambda path: (root / path).read_text(encoding="utf-8"), ignored)


def _normalised(path: PurePosixPath) -> str | None:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _problem_with(target: str, anchor: str | None, tree: Tree, template_ok: bool) -> str | None:
    """Why `target` (a repository path) with `anchor` does not resolve; None if it does."""
    if target not in tree.files:
        if any(path.startswith(target.rstrip("/") + "/") for path in tree.files):
            return None  # a folder
        if template_ok and target.endswith(".html") and f"templates/{target}" in tree.files:
            return None
        if tree.ignored(target):
            return None
        return f"{target} does not exist in the repository"
    if anchor and target.endswith(".md") and anchor not in tree.anchors_of(target):
        return f"{target} has no heading with the anchor #{anchor}"
    return None


def broken_references(name: str, text: str, tree: Tree) -> Iterator[str]:
    """`name:line: problem` for each reference in `text` (the file `name`) that does not
    resolve against `tree`, and for each citation of a file outside the repository."""
    pattern = path_pattern(tree.top_folders)
    folder = PurePosixPath(name).parent
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{name}:{number}"
        for forbidden in FORBIDDEN.finditer(line):
            yield (
                f"{where}: cites {forbidden.group(0)!r}, which is outside the repository; "
                "cite the docs/ page that says the same"
            )
        for match in pattern.finditer(line):
            problem = _problem_with(match.group(1), match.group(2), tree, template_ok=True)
            if problem:
                yield f"{where}: {problem}"
        if not name.endswith(".md"):
            continue
        for link in MARKDOWN_LINK.finditer(line):
            target, _, anchor = link.group(1).partition("#")
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # http:, https:, mailto:
            resolved = _normalised(folder / target) if target else name
            if resolved is None:
                yield f"{where}: link {link.group(1)} leads out of the repository"
                continue
            problem = _problem_with(resolved, anchor or None, tree, template_ok=False)
            if problem:
                yield f"{where}: link {link.group(1)}: {problem}"


def scanned_files(tree: Tree) -> list[str]:
    return sorted(path for path in tree.files if path.endswith(SCANNED_SUFFIXES))


def test_every_cited_path_exists() -> None:
    tree = Tree.of_repository(REPO_ROOT)
    problems = [
        problem
        for path in scanned_files(tree)
        for problem in broken_references(path, tree.read(path), tree)
    ]
    assert problems == [], "references that do not resolve:\n" + "\n".join(problems)


def test_the_scan_covers_code_and_docs() -> None:
    files = scanned_files(Tree.of_repository(REPO_ROOT))
    for expected in ("README.md", "docs/architecture.md", "annotation/tasks.py"):
        assert expected in files
    assert any(path.startswith("templates/") for path in files)
    assert any(path.startswith("static/js/") for path in files)


# --- the scanner itself, on a synthetic tree. Its top-level folders (notes/, pkg/, out/)
# are not the repository's, so the strings below are not references to it.

GUIDE = "# Guide\n\n## Set-up: `make run`\n\n```sh\n# not a heading\n```\n\n## Set-up: `make run`\n"


def synthetic_tree() -> Tree:
    texts = {"notes/guide.md": GUIDE}
    files = {"notes/guide.md", "pkg/real.py", "pkg/sub/deep.py", "templates" + "/pkg/page.html"}
    return Tree(files, lambda path: texts[path], ignored=lambda path: path.startswith("out/"))


def problems_in(text: str, name: str = "pkg/example.py") -> list[str]:
    return list(broken_references(name, text, synthetic_tree()))


def test_a_missing_path_is_reported_with_its_line() -> None:
    problems = problems_in("x = 1\n# the rule lives in pkg/gone.py, see there\n")
    assert problems == ["pkg/example.py:2: pkg/gone.py does not exist in the repository"]


def test_existing_paths_templates_and_ignored_outputs_pass() -> None:
    text = (
        "# see pkg/real.py and notes/guide.md\n"
        'render(request, "pkg/page.html")\n'
        "# writes out/results/run.json\n"
        "# a name inside another path: /pkg/x.py, src/pkg/main.py\n"
    )
    assert problems_in(text) == []


def test_a_template_name_that_is_no_template_is_reported() -> None:
    assert problems_in('render(request, "pkg/nowhere.html")') == [
        "pkg/example.py:1: pkg/nowhere.html does not exist in the repository"
    ]


def test_anchors_must_name_a_heading() -> None:
    assert (
        problems_in("# notes/guide.md#set-up-make-run and notes/guide.md#set-up-make-run-1") == []
    )
    assert problems_in("# notes/guide.md#not-a-heading") == [
        "pkg/example.py:1: notes/guide.md has no heading with the anchor #not-a-heading"
    ]


def test_markdown_links_resolve_from_the_file_folder() -> None:
    text = (
        "[a](guide.md#guide) [b](../pkg/real.py) [c](../pkg/sub/) [d](https://example.org/x.md)\n"
    )
    assert problems_in(text, name="notes/other.md") == []
    bad = "[bad](../pkg/gone.py) [out](../../x.md) [anchor](#nope)\n"
    assert problems_in(bad, name="notes/guide.md") == [
        "notes/guide.md:1: link ../pkg/gone.py: pkg/gone.py does not exist in the repository",
        "notes/guide.md:1: link ../../x.md leads out of the repository",
        "notes/guide.md:1: link #nope: notes/guide.md has no heading with the anchor #nope",
    ]


def test_citing_files_outside_the_repository_is_reported() -> None:
    design, facts, shared = "DESIGN" + ".md", "HPD_V2" + ".md", "../" + "shared"
    problems = problems_in(f"# see {design}\n# and {shared}/{facts}\n")
    assert [problem.split(": cites ")[1].split(",")[0] for problem in problems] == [
        repr(design),
        repr(shared),
        repr(facts),
    ]
    assert problems[0].startswith("pkg/example.py:1: ")
    assert problems[1].startswith("pkg/example.py:2: ")
