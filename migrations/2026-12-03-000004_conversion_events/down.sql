DROP TABLE conversion_events;
