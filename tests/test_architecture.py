"""The architecture rules: no import cycles (imports inside functions counted), the custom
import-linter contracts catch what they are for, and every task queued by name exists."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import grimp
import pytest

from annotation.export import EXPORT_SNAPSHOT_TASK
from annotation.intake import PROCESS_BATCH_TASK
from config.celery_app import app
from scoring.services import SCORE_BATCH_TASK
from training.services.cycle import RUN_CYCLE_TASK

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import import_contracts  # noqa: E402
import import_cycles  # noqa: E402


def write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_the_project_has_no_import_cycle() -> None:
    assert import_cycles.find_cycles(REPO) == []


def test_a_cycle_hidden_inside_a_function_is_found(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "shop/__init__.py": "",
            "shop/orders.py": "from shop.stock import reserve\n",
            "shop/stock.py": "def reserve():\n    from shop import orders\n    return orders\n",
            "shop/prices.py": "from shop import stock\n",
        },
    )

    assert import_cycles.find_cycles(tmp_path, ["shop"]) == [["shop.orders", "shop.stock"]]


def test_a_package_importing_its_own_modules_is_no_cycle(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "shop/__init__.py": "from shop.orders import place\n",
            "shop/orders.py": "from shop.stock import reserve\ndef place(): ...\n",
            "shop/stock.py": "def reserve(): ...\n",
        },
    )

    assert import_cycles.find_cycles(tmp_path, ["shop"]) == []


@pytest.fixture
def shop_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> grimp.ImportGraph:
    write_package(
        tmp_path,
        {
            "shop/__init__.py": "",
            "shop/sales/__init__.py": "from shop.sales.orders import place\n",
            "shop/sales/orders.py": "from shop.sales.tax import _rate\ndef place(): ...\n",
            "shop/sales/tax.py": "_rate = 0.2\n",
            "shop/views.py": (
                "from shop.sales import place\n"
                "def page():\n"
                "    from shop.sales.orders import place as direct\n"
                "    from shop.sales.tax import _rate\n"
            ),
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return grimp.build_graph("shop", cache_dir=None)


def violations(contract: object, graph: grimp.ImportGraph) -> list[tuple[str, int, str]]:
    check = contract.check(graph, verbose=False)  # type: ignore[attr-defined]
    return [(v.importer, v.line, v.message) for v in check.metadata["violations"]]


def test_the_public_api_contract_flags_imports_of_a_package_module(
    shop_graph: grimp.ImportGraph,
) -> None:
    contract = import_contracts.PublicApiContract("public", {}, {"packages": ["shop.sales"]})

    assert violations(contract, shop_graph) == [
        ("shop.views", 3, "imports shop.sales.orders; import its names from shop.sales"),
        ("shop.views", 4, "imports shop.sales.tax; import its names from shop.sales"),
    ]


def test_the_private_names_contract_flags_private_imports_across_modules(
    shop_graph: grimp.ImportGraph,
) -> None:
    contract = import_contracts.PrivateNamesContract("private", {}, {})

    assert violations(contract, shop_graph) == [
        ("shop.sales.orders", 1, "imports the private shop.sales.tax._rate"),
        ("shop.views", 4, "imports the private shop.sales.tax._rate"),
    ]


@pytest.mark.parametrize(
    "name", [PROCESS_BATCH_TASK, EXPORT_SNAPSHOT_TASK, SCORE_BATCH_TASK, RUN_CYCLE_TASK]
)
def test_every_task_queued_by_name_is_registered(name: str) -> None:
    app.loader.import_default_modules()

    assert name in app.tasks
