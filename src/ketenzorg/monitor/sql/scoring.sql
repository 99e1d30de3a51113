-- Scoring completeness: for every conference in the period, every party in the care team at that
-- moment, and whether it gave a score with a rationale in that conference; by partner type (the
-- party's role for a party that is no chain partner).
WITH conferences AS (
    SELECT region, lead_municipality, municipality, case_key, event_seq
    FROM ev
    WHERE event_type = 'conference_held' AND period = '{period}'
),
-- each party's stays in the team: from a party_joined row up to its next party_joined or
-- party_left row (none: still in the team)
stays AS (
    SELECT case_key, party_seq, event_type, event_seq AS from_seq, COALESCE(partner_type, party_role) AS kind,
           LEAD(event_seq) OVER (PARTITION BY case_key, party_seq ORDER BY event_seq) AS to_seq
    FROM ev
    WHERE event_type IN ('party_joined', 'party_left') AND party_seq IS NOT NULL
),
team AS (
    SELECT c.region, c.lead_municipality, c.municipality, c.case_key, c.event_seq AS conference_seq,
           s.party_seq, s.kind
    FROM conferences AS c
    JOIN stays AS s
      ON s.case_key = c.case_key AND s.from_seq < c.event_seq
     AND (s.to_seq IS NULL OR s.to_seq > c.event_seq)
    WHERE s.event_type = 'party_joined'
),
scored AS (
    SELECT DISTINCT case_key, conference_seq, party_seq
    FROM ev
    WHERE event_type = 'score_given' AND has_rationale AND conference_seq IS NOT NULL
)
SELECT region, lead_municipality, municipality, category, COUNT(*) AS n
FROM (
    SELECT t.region, t.lead_municipality, t.municipality,
           CONCAT(t.kind, CASE WHEN s.case_key IS NULL THEN ':not_scored' ELSE ':scored' END) AS category
    FROM team AS t
    LEFT JOIN scored AS s
      ON s.case_key = t.case_key AND s.conference_seq = t.conference_seq AND s.party_seq = t.party_seq
) AS expected
GROUP BY region, lead_municipality, municipality, category
