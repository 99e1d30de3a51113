-- Cases closed in the period, with or without a handover to chain partners.
SELECT region, lead_municipality, municipality, category, COUNT(*) AS n
FROM (
    SELECT region, lead_municipality, municipality,
           CASE WHEN handover_count > 0 THEN 'with_handover' ELSE 'without_handover' END AS category
    FROM ev
    WHERE event_type = 'case_closed' AND period = '{period}'
) AS closings
GROUP BY region, lead_municipality, municipality, category
