DROP TABLE sign_in_sources;
