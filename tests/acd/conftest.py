"""Make ``import acd`` find the package however pytest is started.

Under plain ``pytest`` (not ``python -m pytest``) the repository root is not on
``sys.path``, while pytest puts ``tests/`` there for ``tests/conftest.py``; this
folder, ``tests/acd`` (no ``__init__.py``), is then importable as a namespace
package called ``acd`` that shadows the real one.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
_acd = sys.modules.get("acd")
if _acd is not None and getattr(_acd, "__file__", None) is None:  # a namespace stand-in
    del sys.modules["acd"]
