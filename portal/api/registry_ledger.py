"""Registry API (tag ``registry``): the officers' ledger search, exports and figures."""

from portal.api import bp  # noqa: F401
