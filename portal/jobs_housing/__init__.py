"""The free rental and job board (社区免费中介服务站): verified posters, moderation by the
community's officers, reports, applications and expiry."""

from flask import Blueprint

bp = Blueprint("jobs_housing", __name__, cli_group=None)

from portal.jobs_housing import routes  # noqa: E402,F401
