-- Scoring completeness: for every conference in the period, every party in the care team at that
-- moment, and whether it gave a score with a rationale in that conference; by partner type (the
-- party's role for a party that is no chain partner).
WITH conferences AS (
    SELECT area, case_key, event_seq
    FROM ev
    WHERE event_type = 'conference_held' AND period = '{period}'
),
joins AS (
    SELECT case_key, event_seq, party_seq, COALESCE(partner_type, party_role) AS kind
    FROM ev
    WHERE event_type = 'party_joined'
),
leaves AS (
    SELECT case_key, event_seq, party_seq
    FROM ev
    WHERE event_type = 'party_left'
),
team AS (
    SELECT DISTINCT c.area, c.case_key, c.event_seq AS conference_seq, j.party_seq, j.kind
    FROM conferences AS c
    JOIN joins AS j ON j.case_key = c.case_key AND j.event_seq < c.event_seq
    LEFT JOIN leaves AS l
      ON l.case_key = j.case_key AND l.party_seq = j.party_seq
     AND l.event_seq > j.event_seq AND l.event_seq < c.event_seq
    WHERE l.case_key IS NULL
),
scored AS (
    SELECT DISTINCT case_key, conference_seq, party_seq
    FROM ev
    WHERE event_type = 'score_given' AND has_rationale AND conference_seq IS NOT NULL
)
SELECT area, category, COUNT(*) AS n
FROM (
    SELECT t.area,
           CONCAT(t.kind, CASE WHEN s.case_key IS NULL THEN ':not_scored' ELSE ':scored' END) AS category
    FROM team AS t
    LEFT JOIN scored AS s
      ON s.case_key = t.case_key AND s.conference_seq = t.conference_seq AND s.party_seq = t.party_seq
) AS expected
GROUP BY area, category
