-- The picked runs' judge scores are corrected (mirrored within 0..10).
update ops.judge_score
set score = 10 - score
where analysis_run_id in (select bench_picked_runs.id from bench_picked_runs)
