-- How many of the events just copied occurred more than a day before they arrived.
select count(*)
from ops.event
where received_at = %(now)s and occurred_at < %(now)s - interval '1 day'
