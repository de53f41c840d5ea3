"""Response deadlines as the plan counts them (docs/incidents.md): critical on the wall clock, major
and minor in business hours (Asia/Seoul), weekends and holidays skipped."""

from __future__ import annotations

from datetime import date

import pytest

from opsplan.incidents.business_hours import BusinessCalendar
from opsplan.incidents.errors import IncidentError
from opsplan.incidents.lifecycle import Incidents
from opsplan.plan.models import BusinessHours, Plan
from opsplan.store.state import StateDB
from seoul_time import at, no_public_holidays, seoul


def plan_with(**business_hours) -> Plan:
    plan = Plan()
    hours = BusinessHours.model_validate({**plan.incidents.business_hours.model_dump(), **business_hours})
    return plan.model_copy(update={"incidents": plan.incidents.model_copy(update={"business_hours": hours})})


@pytest.fixture
def db(tmp_path):
    state = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield state
    state.close()


def deadlines(db, plan, severity, opened, holiday_source=no_public_holidays):
    incidents = Incidents(plan, db, holiday_source=holiday_source)
    return [seoul(ts) for ts in incidents.deadlines_from(severity, at(opened))]


def test_a_major_at_20_00_on_friday_waits_for_monday_morning(db):
    # 2026-12-04 is a Friday: the two hours count from Monday 09:00, the acknowledgement's 30 minutes too.
    assert deadlines(db, Plan(), "major", "2026-12-04 20:00") == [
        "Mon 2026-12-07 09:00", "Mon 2026-12-07 09:30", "Mon 2026-12-07 11:00"]


def test_a_critical_counts_the_wall_clock_at_3_a_m_on_a_saturday(db):
    assert deadlines(db, Plan(), "critical", "2026-12-05 03:00") == [
        "Sat 2026-12-05 03:00", "Sat 2026-12-05 03:15", "Sat 2026-12-05 03:15"]


def test_a_minor_late_in_the_day_carries_its_hours_into_the_next_working_day(db):
    # Tuesday 17:00: one hour of Tuesday, three of Wednesday.
    assert deadlines(db, Plan(), "minor", "2026-12-01 17:00") == [
        "Tue 2026-12-01 17:00", "Tue 2026-12-01 18:00", "Wed 2026-12-02 12:00"]


def test_a_company_day_off_is_skipped_like_a_weekend(db):
    plan = plan_with(extra_holidays=["2026-12-07"])
    assert deadlines(db, plan, "major", "2026-12-04 20:00")[2] == "Tue 2026-12-08 11:00"


def test_korean_public_holidays_come_from_the_holidays_package(db):
    pytest.importorskip("holidays")
    # Chuseok 2026: Thursday 24 to Saturday 26 September. Wednesday 17:00 + 2 h = one hour that day,
    # then the holidays and the weekend, then Monday 09:00-10:00.
    assert deadlines(db, Plan(), "major", "2026-09-23 17:00", holiday_source=None)[2] == "Mon 2026-09-28 10:00"
    calendar = BusinessCalendar(Plan().incidents.business_hours, "Asia/Seoul")
    assert calendar.is_holiday(date(2026, 6, 3))  # the local elections: a holiday only that year


def test_without_the_package_working_days_still_count(db):
    def missing(country: str, year: int) -> frozenset[date]:
        raise ImportError("No module named 'holidays'")

    # Chuseok counted as working days, but the weekend still skipped: Thursday 10:00.
    assert deadlines(db, Plan(), "major", "2026-09-23 17:00", holiday_source=missing)[2] == "Thu 2026-09-24 10:00"


class EveryDay:
    def __contains__(self, day: object) -> bool:
        return True


def test_a_plan_without_any_business_hours_is_a_clear_error():
    calendar = BusinessCalendar(Plan().incidents.business_hours, "Asia/Seoul",
                                holiday_source=lambda country, year: EveryDay())
    with pytest.raises(IncidentError, match="no business hours in the next 400 days"):
        calendar.add(at("2026-12-04 20:00"), 3600)
