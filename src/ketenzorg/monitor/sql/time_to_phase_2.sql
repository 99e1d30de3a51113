-- Days from the case's opening to its first entry into phase 2 (immediate safety reached),
-- for cases whose first entry falls in the period.
WITH firsts AS (
    SELECT area, case_key, MIN(case_day) AS d, MIN(event_at) AS first_at
    FROM ev
    WHERE event_type = 'phase_changed' AND phase_to = 2
    GROUP BY area, case_key
)
SELECT area, 'all' AS category, d
FROM firsts
WHERE first_at >= TIMESTAMP '{start}' AND first_at < TIMESTAMP '{end}'
