"""Imports every model so the metadata is complete (for Alembic and the tests).

A new feature package adds its models module here.
"""

from portal import search  # noqa: F401
from portal.accounts import models as accounts  # noqa: F401
from portal.appointments import models as appointments  # noqa: F401
from portal.communities import models as communities  # noqa: F401
from portal.consult import models as consult  # noqa: F401
from portal.db import Base
from portal.jobs_housing import models as jobs_housing  # noqa: F401
from portal.notices import models as notices  # noqa: F401
from portal.notifications import models as notifications  # noqa: F401
from portal.registry import figures as registry_figures  # noqa: F401
from portal.registry import models as registry  # noqa: F401
from portal.security import models as security  # noqa: F401
from portal.station import models as station  # noqa: F401

metadata = Base.metadata
