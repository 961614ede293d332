"""Officers' ledger (台帐): search, history, exports and figures."""

from portal.registry import bp  # noqa: F401
