-- Care setting at period end: cases open at the period's end (as for phase_at_end), by the care
-- setting after their last event before the end.
WITH last AS (
    SELECT area, case_key, care_setting, closed,
           ROW_NUMBER() OVER (PARTITION BY case_key ORDER BY event_seq DESC) AS rn
    FROM ev
    WHERE event_at < TIMESTAMP '{end}'
)
SELECT area, care_setting AS category, COUNT(*) AS n
FROM last
WHERE rn = 1 AND NOT closed
GROUP BY area, care_setting
