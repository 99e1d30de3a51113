-- Care setting at period end: cases open at the period's end (as for phase_at_end), by the care
-- setting after their last event before the end.
SELECT region, lead_municipality, municipality, category, COUNT(*) AS n
FROM (
    SELECT region, lead_municipality, municipality,
           ARG_MAX(care_setting, event_seq) AS category,
           ARG_MAX(closed, event_seq) AS closed_at_end
    FROM ev
    WHERE event_at < TIMESTAMP '{end}'
    GROUP BY case_key, region, lead_municipality, municipality
) AS last_state
WHERE NOT closed_at_end
GROUP BY region, lead_municipality, municipality, category
