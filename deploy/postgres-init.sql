-- The HR store's own database and role beside Temporal's (sample password: change it).
CREATE ROLE hr LOGIN PASSWORD 'change-me';
CREATE DATABASE hr OWNER hr;
