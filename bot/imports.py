"""Load one module of a package without running the package's `__init__`, where that does costly work we never use.

`import rjieba` builds a segmenter on jieba-rs's own full dictionary (0.3 s and 33 MiB at every start) although we
only use `rjieba.Jieba.empty()`; `import pypinyin` loads its 400k-phrase table (0.4 s, 50 MiB) although typo repair
only reads the character table `pypinyin.pinyin_dict`. The module is found and run through importlib's public
finders and registered under its full name, so a later `import` of the package reuses it instead of loading it twice.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from types import ModuleType


def submodule_alone(package: str, name: str) -> ModuleType:
    """`package.name`, with `package/__init__.py` not run unless something else imported the package already."""
    full = f"{package}.{name}"
    if full in sys.modules:
        return sys.modules[full]
    if package in sys.modules:
        return importlib.import_module(full)
    parent = importlib.util.find_spec(package)  # a top-level package is found without being imported
    locations = parent.submodule_search_locations if parent else None
    spec = importlib.machinery.PathFinder.find_spec(full, list(locations)) if locations else None
    if spec is None or spec.loader is None:
        return importlib.import_module(full)  # an unusual layout: the ordinary import, at its ordinary cost
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[full]
        raise
    return module
