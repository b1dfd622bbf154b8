-- The picked runs' overall scores are corrected (mirrored within 0..10).
update ops.analysis_metric
set value_num = 10 - value_num
where
    key = 'overall_score' and value_num is not null
    and analysis_run_id in (select bench_picked_runs.id from bench_picked_runs)
