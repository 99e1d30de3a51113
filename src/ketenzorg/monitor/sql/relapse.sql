-- Relapse within {days} days of reaching phase 2: every entry into phase 2 in the period, and
-- whether within {days} days after it the case went back to phase 1 or had an acute incident.
WITH entries AS (
    SELECT area, case_key, event_seq, case_day
    FROM ev
    WHERE event_type = 'phase_changed' AND phase_to = 2 AND period = '{period}'
),
outcomes AS (
    SELECT e.area, e.case_key, e.event_seq,
           MAX(CASE WHEN x.case_key IS NULL THEN 0 ELSE 1 END) AS relapsed
    FROM entries AS e
    LEFT JOIN ev AS x
      ON x.case_key = e.case_key
     AND x.event_seq > e.event_seq
     AND x.case_day <= e.case_day + {days}
     AND ((x.event_type = 'phase_changed' AND x.transition_kind = 'relapse')
          OR (x.event_type = 'incident_reported' AND x.incident_acute))
    GROUP BY e.area, e.case_key, e.event_seq
)
SELECT area, category, COUNT(*) AS n
FROM (
    SELECT area, CASE WHEN relapsed = 1 THEN 'relapsed' ELSE 'not_relapsed' END AS category
    FROM outcomes
) AS flagged
GROUP BY area, category
