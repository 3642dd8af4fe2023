"""Request models (pydantic), one module per API module, loaded on first use.

`from chalicelib.api.models import cart as models` hands out a stand-in (chalicelib/lazy.py)
that imports the real module when a view first reads a model from it. pydantic and every
model are thus imported by the first request that validates a body or a query string, not
by app.py: that took ~45 ms off a cold start whose first request validates nothing (a
public read, an admin statistic; docs/ARCHITECTURE.md, "Cold start"). The field types
all models share are in chalicelib/api/fields.py.
"""

from chalicelib.lazy import submodules_on_first_use

__getattr__ = submodules_on_first_use(__name__, "request models")
