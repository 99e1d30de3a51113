-- Cases per phase at period end: cases opened before the period's end and not closed by then,
-- by the phase after their last event before the end.
WITH last AS (
    SELECT area, case_key, phase, closed,
           ROW_NUMBER() OVER (PARTITION BY case_key ORDER BY event_seq DESC) AS rn
    FROM ev
    WHERE event_at < TIMESTAMP '{end}'
)
SELECT area, category, COUNT(*) AS n
FROM (
    SELECT area, CONCAT('phase_', CAST(phase AS VARCHAR)) AS category
    FROM last
    WHERE rn = 1 AND NOT closed
) AS open_cases
GROUP BY area, category
