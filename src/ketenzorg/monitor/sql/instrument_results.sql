-- Instrument applications in the period, by instrument and result level.
SELECT area, category, COUNT(*) AS n
FROM (
    SELECT area, CONCAT(instrument_id, ':', COALESCE(result_level, 'none')) AS category
    FROM ev
    WHERE event_type = 'instrument_applied' AND period = '{period}'
) AS applications
GROUP BY area, category
