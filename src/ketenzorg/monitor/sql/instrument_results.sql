-- Instrument applications in the period, by instrument and result level.
SELECT region, lead_municipality, municipality, category, COUNT(*) AS n
FROM (
    SELECT region, lead_municipality, municipality,
           CONCAT(instrument_id, ':', COALESCE(result_level, 'none')) AS category
    FROM ev
    WHERE event_type = 'instrument_applied' AND period = '{period}'
) AS applications
GROUP BY region, lead_municipality, municipality, category
