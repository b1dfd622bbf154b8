-- One event in one statement, the way a chatty writer inserts them.
insert into ops.event (organization_id, user_id, source, feature_key, occurred_at, payload)
values (
    %(organization)s, %(user_id)s, %(source)s, %(feature)s, %(occurred_at)s, %(payload)s::jsonb
)
