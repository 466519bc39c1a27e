"""A problem found in user input: where it is and what to do about it."""

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an upload. `where` names the file (and line) it concerns."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "message": self.message}


class BatchRejected(Exception):
    """Raised when an upload has problems. Nothing was written when this is raised."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=_natural_order)
        super().__init__(f"{len(self.problems)} problem(s); nothing was imported")


def _natural_order(problem: Problem) -> tuple[str, int, str]:
    # "manifest.jsonl line 10" must come after "line 9".
    head, _, tail = problem.where.rpartition(" line ")
    if head and tail.isdigit():
        return (head, int(tail), problem.message)
    return (problem.where, 0, problem.message)


@dataclass(frozen=True)
class ProblemGroup:
    """Problems with the same message, said once: where each one is."""

    message: str
    places: list[str]


def group_problems(problems: list[Problem]) -> list[ProblemGroup]:
    """One group per distinct message, in the order each first appears: an upload that
    repeats one problem in 8 files reads as one line naming the 8 files."""
    groups: dict[str, list[str]] = {}
    for problem in problems:
        groups.setdefault(problem.message, []).append(problem.where)
    return [ProblemGroup(message, places) for message, places in groups.items()]
