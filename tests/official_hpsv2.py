"""The official HPS v2 release's own modules, imported without its top-level package.

`import hpsv2` runs hpsv2/__init__.py, which downloads checkpoints from the network.
This registers an empty `hpsv2` package pointing at the installed files instead, so
`official("hpsv2.src.training.data")` and friends import exactly the released code.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
import warnings
from pathlib import Path
from types import ModuleType


def _install_bare_package() -> None:
    if "hpsv2" in sys.modules:
        return
    spec = importlib.util.find_spec("hpsv2")
    if spec is None or spec.origin is None:
        raise RuntimeError("hpsv2 is not installed; run `make venv` (requirements-compat.txt)")
    package = types.ModuleType("hpsv2")
    package.__path__ = [str(Path(spec.origin).parent)]
    sys.modules["hpsv2"] = package


def official(module: str) -> ModuleType:
    """Import one module of the installed hpsv2 release, e.g. "hpsv2.src.open_clip"."""
    _install_bare_package()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its timm imports are deprecated paths
        return importlib.import_module(module)
