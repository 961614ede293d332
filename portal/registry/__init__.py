"""Registration ledger (台帐) of migrant workers and rented houses, fed by the board's signed
agreements, employers' submissions and residents' own 暂住登记; residence permits (居住证);
the officers' ledger with search, exports and figures."""

from flask import Blueprint

# cli_group=None: the commands sit at the top level (``portal purge-registry``).
bp = Blueprint("registry", __name__, cli_group=None)

# routes: residents, employers, review and permits; ledger_routes: officers' ledger, exports
# and figures.
from portal.registry import ledger_routes, routes  # noqa: E402,F401
