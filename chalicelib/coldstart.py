"""No garbage collection while the app's modules load (app.py imports this first).

Importing the app allocates a few hundred thousand objects (classes, pydantic schemas,
functions) and frees almost none: the collector's passes over them during the import are
~10% of a cold start's `import app` (bench/package.py) and find nothing to free. Once the
app is built, ``loaded`` moves what the import made to the permanent generation
(``gc.freeze``: it lives as long as the sandbox, so later collections need not walk it)
and turns collection back on.
"""

from __future__ import annotations

import gc

gc.disable()


def loaded() -> None:
    gc.freeze()
    gc.enable()
