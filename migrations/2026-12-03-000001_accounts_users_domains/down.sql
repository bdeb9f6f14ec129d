DROP TABLE domains;
DROP TABLE users;
DROP TABLE accounts;
