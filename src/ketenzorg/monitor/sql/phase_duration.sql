-- Days spent in a phase, per completed stay: from entering the phase (opening, or a phase change)
-- to leaving it (the next phase change, or closing), counted in the period the stay ended.
WITH marks AS (
    SELECT region, lead_municipality, municipality, case_key, event_type, phase, case_day,
           LEAD(case_day) OVER (PARTITION BY case_key ORDER BY event_seq) AS end_day,
           LEAD(event_at) OVER (PARTITION BY case_key ORDER BY event_seq) AS end_at
    FROM ev
    WHERE event_type IN ('case_opened', 'phase_changed', 'case_closed')
)
SELECT region, lead_municipality, municipality,
       CONCAT('phase_', CAST(phase AS VARCHAR)) AS category, end_day - case_day AS d
FROM marks
WHERE event_type <> 'case_closed'
  AND end_at >= TIMESTAMP '{start}' AND end_at < TIMESTAMP '{end}'
