-- Relapse within {days} days of reaching phase 2: every entry into phase 2 in the period, and
-- whether within {days} days after it the case went back to phase 1 or had an acute incident.
WITH entries AS (
    SELECT region, lead_municipality, municipality, case_key, event_seq, case_day
    FROM ev
    WHERE event_type = 'phase_changed' AND phase_to = 2 AND period = '{period}'
),
setbacks AS (
    SELECT case_key, event_seq, case_day
    FROM ev
    WHERE (event_type = 'phase_changed' AND transition_kind = 'relapse')
       OR (event_type = 'incident_reported' AND incident_acute)
),
outcomes AS (
    SELECT e.region, e.lead_municipality, e.municipality, e.case_key, e.event_seq,
           MAX(CASE WHEN x.case_key IS NULL THEN 0 ELSE 1 END) AS relapsed
    FROM entries AS e
    LEFT JOIN setbacks AS x
      ON x.case_key = e.case_key
     AND x.event_seq > e.event_seq
     AND x.case_day <= e.case_day + {days}
    GROUP BY e.region, e.lead_municipality, e.municipality, e.case_key, e.event_seq
)
SELECT region, lead_municipality, municipality, category, COUNT(*) AS n
FROM (
    SELECT region, lead_municipality, municipality,
           CASE WHEN relapsed = 1 THEN 'relapsed' ELSE 'not_relapsed' END AS category
    FROM outcomes
) AS flagged
GROUP BY region, lead_municipality, municipality, category
