"""Registry API (tag ``registry``): residents' own registration and permit, officers' review."""

from portal.api import bp  # noqa: F401
