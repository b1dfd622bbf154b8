"""Deterministic, realistic synthetic ops data, generated inside the server.

Every row is computed by set-based SQL (``sql/generate``: one query per table, over
``generate_series``) in one transaction. Randomness is a pure function of the row:
``hashint8extended(row key, seed + salt)`` mapped to (0, 1), each draw's salt named in
``salts.yaml``, and uuids are ``md5(seed:kind:key)``. No ``random()``: the same seed and
anchor give the same rows (identity ids included) on any server, whatever plan it picks.

Foreign keys are arithmetic, not joins: user ``j`` belongs to organization
``user_org(j)`` and has uuid ``id('user', j)``, so every table is generated
independently, chunk by chunk of days, and its insert order is deterministic.

``generate`` loads an empty database (``load`` holds the bulk-load machinery);
``mutate`` changes existing data the way production does.
"""
