"""Online appointments (网上预约): services, working plans, free slots, bookings."""

from flask import Blueprint

# cli_group=None: the commands sit at the top level (``portal send-reminders``).
bp = Blueprint("appointments", __name__, cli_group=None)

from portal.appointments import routes  # noqa: E402,F401
