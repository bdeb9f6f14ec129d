ALTER TABLE conversion_events DROP COLUMN request_id;
DROP TABLE key_sources;
DROP TABLE key_hourly_usage;
DROP TABLE key_deliveries;
