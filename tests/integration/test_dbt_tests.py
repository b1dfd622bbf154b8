"""Each dbt data test fails on data that breaks it, and passes on good data."""

from __future__ import annotations

import psycopg
import pytest
from support import dbt_fails, dbt_ok, failing_nodes, run_dbt

pytestmark = pytest.mark.every_server


DROP_UNIQUE = """
do $$
declare c record;
begin
    for c in select conname from pg_constraint
             where conrelid = 'mart.{mart}'::regclass and contype = 'u' loop
        execute format('alter table mart.{mart} drop constraint %I', c.conname);
    end loop;
end $$;
"""

# (test id, SQL that breaks the data, dbt selector of the test that must fail)
CASES = [
    (
        "grain_unique_treats_null_as_value",
        DROP_UNIQUE.format(mart="analysis_daily") + "insert into mart.analysis_daily"
        " select * from mart.analysis_daily where organization_id is null limit 1;",
        "test_name:opsmart_unique_grain,analysis_daily",
    ),
    (
        "grain_unique_feature_daily",
        DROP_UNIQUE.format(mart="feature_daily")
        + "insert into mart.feature_daily select * from mart.feature_daily limit 1;",
        "test_name:opsmart_unique_grain,feature_daily",
    ),
    (
        "relationship_to_organization",
        "insert into mart.feature_daily values (gen_random_uuid(), current_date, 'ghost_feature', 1, 1);",
        "test_name:relationships,feature_daily",
    ),
    (
        "score_average_in_range",
        "update mart.analysis_daily set avg_overall = 10.5"
        " where ctid = (select min(ctid) from mart.analysis_daily);",
        "test_name:opsmart_between,analysis_daily",
    ),
    (
        "judge_metric_in_range",
        "update mart.metric_timeseries set value_max = 11"
        " where ctid = (select min(ctid) from mart.metric_timeseries where metric_key like 'judge.%');",
        "test_name:opsmart_metrics_within_catalog,metric_timeseries",
    ),
    (
        "metric_key_shape",
        "update mart.metric_timeseries set metric_key = 'Bad Key'"
        " where ctid = (select min(ctid) from mart.metric_timeseries);",
        "test_name:opsmart_matches,metric_timeseries",
    ),
    (
        "dashboard_metric_type_accepted",
        "update mart.performance_dashboard set metric_type = 'bogus'"
        " where ctid = (select min(ctid) from mart.performance_dashboard);",
        "test_name:accepted_values,performance_dashboard",
    ),
    (
        "source_status_accepted",
        "alter table ops.analysis_run drop constraint chk_analysis_run_status;"
        "update ops.analysis_run set status = 'exploded'"
        " where id = (select min(id::text)::uuid from ops.analysis_run);",
        "source:ops.analysis_run,test_name:accepted_values",
    ),
    (
        "source_event_source_accepted",
        "alter table ops.event drop constraint chk_event_source;"
        "update ops.event set source = 'fax' where id = (select min(id) from ops.event);",
        "source:ops.event,test_name:accepted_values",
    ),
    (
        "source_score_in_range",
        "alter table ops.judge_score drop constraint chk_judge_score_score;"
        "update ops.judge_score set score = 12 where id = (select min(id) from ops.judge_score);",
        "source:ops.judge_score,test_name:opsmart_between",
    ),
    (
        "source_score_not_null",
        "alter table ops.judge_score alter column score drop not null;"
        "update ops.judge_score set score = null where id = (select min(id) from ops.judge_score);",
        "source:ops.judge_score,test_name:not_null",
    ),
    (
        "feature_daily_reconciles",
        "update mart.feature_daily set events = events + 1"
        " where ctid = (select min(ctid) from mart.feature_daily);",
        "assert_feature_daily_reconciles_with_events",
    ),
    (
        "analysis_daily_reconciles",
        "update mart.analysis_daily set analyses = analyses + 1"
        " where ctid = (select min(ctid) from mart.analysis_daily);",
        "assert_analysis_daily_reconciles_with_runs",
    ),
    (
        "metric_timeseries_reconciles",
        "delete from mart.metric_timeseries where ctid = (select min(ctid) from mart.metric_timeseries);",
        "assert_metric_timeseries_reconciles_with_sources",
    ),
    (
        "performance_dashboard_reconciles",
        "update mart.performance_dashboard set error_count = query_count, query_count = query_count + 1"
        " where ctid = (select min(ctid) from mart.performance_dashboard);",
        "assert_performance_dashboard_reconciles_with_log",
    ),
]


def test_every_data_and_unit_test_passes_on_generated_data(loaded_url: str) -> None:
    result = dbt_ok(loaded_url, "test")
    statuses = {(str(r.node.resource_type), str(r.status)) for r in result.result.results}
    tests = {(kind, status) for kind, status in statuses if kind != "operation"}  # the project's hooks
    assert tests == {("test", "pass"), ("unit_test", "pass")}, statuses


@pytest.mark.parametrize(("breakage", "selector"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_data_test_fails_on_data_that_breaks_it(loaded_url: str, breakage: str, selector: str) -> None:
    # each test the selector names passes on good data (see the test above)
    with psycopg.connect(loaded_url, autocommit=True) as conn:
        conn.execute(breakage)
    result = run_dbt(loaded_url, "test", "--select", selector)
    statuses = {r.node.name: str(r.status) for r in result.result.results if r.node.resource_type == "test"}
    assert statuses, f"{selector} selects no test"
    # the broken data fails a test (an error, e.g. SQL that no longer runs, would not count)
    assert not result.success and "fail" in statuses.values(), statuses
    assert failing_nodes(result) <= set(statuses), (failing_nodes(result), statuses)


def test_source_freshness_errors_when_events_stop_arriving(loaded_url: str) -> None:
    dbt_ok(loaded_url, "source", "freshness", "--select", "source:ops.event")
    with psycopg.connect(loaded_url, autocommit=True) as conn:
        conn.execute("update ops.event set received_at = received_at - interval '30 days'")
    assert dbt_fails(loaded_url, "source", "freshness", "--select", "source:ops.event") == {"event"}


def test_a_metric_the_catalog_lacks_is_a_warning_not_a_failure(loaded_url: str) -> None:
    with psycopg.connect(loaded_url) as conn:
        conn.execute(
            "update mart.metric_timeseries set metric_key = 'analysis.brand_new'"
            " where ctid = (select min(ctid) from mart.metric_timeseries)"
        )
    result = run_dbt(loaded_url, "test", "--select", "test_name:opsmart_metrics_catalogued,metric_timeseries")
    assert result.success
    assert [str(r.status) for r in result.result.results if r.node.resource_type == "test"] == ["warn"]
