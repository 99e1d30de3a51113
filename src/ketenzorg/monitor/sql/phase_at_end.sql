-- Cases per phase at period end: cases opened before the period's end and not closed by then,
-- by the phase after their last event before the end. The rows of one event (the opening and its
-- team's party_joined rows) share event_seq and the case's state, so ARG_MAX may take any of them.
SELECT region, lead_municipality, municipality, category, COUNT(*) AS n
FROM (
    SELECT region, lead_municipality, municipality,
           CONCAT('phase_', CAST(ARG_MAX(phase, event_seq) AS VARCHAR)) AS category,
           ARG_MAX(closed, event_seq) AS closed_at_end
    FROM ev
    WHERE event_at < TIMESTAMP '{end}'
    GROUP BY case_key, region, lead_municipality, municipality
) AS last_state
WHERE NOT closed_at_end
GROUP BY region, lead_municipality, municipality, category
