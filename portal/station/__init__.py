"""The station calendar: office hours, public holidays and adjusted working days (调休).

Kept apart from the blueprints because the consultation SLA and the appointment slots both
count time on it, and neither should depend on the other to do so.
"""
