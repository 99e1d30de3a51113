-- Cases opened: cases whose case_opened event falls in the period.
SELECT region, lead_municipality, municipality, 'all' AS category, COUNT(DISTINCT case_key) AS n
FROM ev
WHERE event_type = 'case_opened' AND period = '{period}'
GROUP BY region, lead_municipality, municipality
