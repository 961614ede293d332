"""The board's settings from the environment: fee words, report threshold, agreement
template folder."""

from __future__ import annotations

import pytest

from portal.config import load_config
from portal.db import db
from portal.jobs_housing import agreements
from portal.jobs_housing import services as svc
from portal.jobs_housing.models import Kind, ReportReason
from tests.jobs_housing.test_services import published, u


def test_environment_variables_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_JOBS_HOUSING_FEE_WORDS", "茶水费，押金、 报名费,,")
    monkeypatch.setenv("PORTAL_JOBS_HOUSING_REPORT_THRESHOLD", "5")
    folder = tmp_path / "agreements"
    folder.mkdir()
    (folder / "rental.txt").write_text("租房 $poster_name", encoding="utf-8")
    monkeypatch.setenv("PORTAL_JOBS_HOUSING_AGREEMENT_DIR", str(folder))
    config = load_config(tmp_path / "instance")
    assert config["JOBS_HOUSING_FEE_WORDS"] == ["茶水费", "押金", "报名费"]
    assert config["JOBS_HOUSING_REPORT_THRESHOLD"] == 5
    assert config["JOBS_HOUSING_AGREEMENT_TEMPLATES"] == {"rental": "租房 $poster_name"}


def test_defaults_when_unset(monkeypatch, tmp_path):
    for name in ("FEE_WORDS", "REPORT_THRESHOLD", "AGREEMENT_DIR"):
        monkeypatch.delenv(f"PORTAL_JOBS_HOUSING_{name}", raising=False)
    config = load_config(tmp_path / "instance")
    assert config["JOBS_HOUSING_FEE_WORDS"] is None
    assert config["JOBS_HOUSING_REPORT_THRESHOLD"] == 3
    assert config["JOBS_HOUSING_AGREEMENT_TEMPLATES"] == {}


def test_configured_fee_words_drive_the_hint(ctx, board, app):
    app.config["JOBS_HOUSING_FEE_WORDS"] = ["报名费"]
    listing = published(board, description="入职前交报名费")
    assert any("报名费" in h for h in svc.hints(listing))
    app.config["JOBS_HOUSING_FEE_WORDS"] = None
    assert svc.fee_words() == list(svc.DEFAULT_FEE_WORDS)


@pytest.mark.parametrize("configured", [1, 0])
def test_threshold_below_two_still_needs_two_users(ctx, board, app, configured):
    app.config["JOBS_HOUSING_REPORT_THRESHOLD"] = configured
    listing = published(board)
    svc.report(u(board["seekers"][0]), listing, ReportReason.FRAUD)
    assert listing.live  # one user never hides a listing alone
    svc.report(u(board["seekers"][1]), listing, ReportReason.FRAUD)
    assert not listing.live


def test_template_folder_wording_is_used_when_complete(ctx, board, app):
    job = "用工 $poster_name $poster_id $seeker_name $seeker_id 自 $start_date 起"
    app.config["JOBS_HOUSING_AGREEMENT_TEMPLATES"] = {
        "rental": "缺少保证书 $poster_name $poster_id $seeker_name $seeker_id",
        "job": job,
    }
    current = agreements.templates()
    assert current[Kind.JOB] == job
    assert current[Kind.RENTAL] == agreements.RENTAL_TEMPLATE  # incomplete: built-in kept
    agreements.save_template(u(board["admin"]), Kind.JOB, job + " 管理员修改")
    db.session.flush()
    assert agreements.templates()[Kind.JOB].endswith("管理员修改")  # saved wording wins
