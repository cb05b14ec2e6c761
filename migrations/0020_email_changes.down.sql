DROP TABLE IF EXISTS email_changes;
