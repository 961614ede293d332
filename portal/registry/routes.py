"""Residents' 暂住登记 and permits, employers' submissions, officers' review."""

from portal.registry import bp  # noqa: F401
