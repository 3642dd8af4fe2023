"""Business rules as plain functions, one module per area.

`from chalicelib.services import catalog` hands out a stand-in that imports the real
module on first attribute access (chalicelib/lazy.py). Every blueprint names its services
at import, but a Lambda container only pays for the services its requests use: a
container answering GET /skus/ never loads orders, payments or statistics. Type checkers
see the real modules. Setting an attribute on a stand-in (a test's monkeypatch) sets it
on the real module, so both names see the change.

Measured (docs/ARCHITECTURE.md, "Cold start"): the stand-ins take ~45 ms off importing
app.py (median 624 vs 673 ms on a busy machine, min 237 vs 281 ms), 10-18 % of it.
"""

from chalicelib.lazy import submodules_on_first_use

__getattr__ = submodules_on_first_use(__name__, "service")
