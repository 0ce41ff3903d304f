-- Working-day calendar years uploaded by an admin in the console (the holiday-cn JSON of one year,
-- checked like the files of data/holidays-cn). A year here replaces the repository's file of that
-- year; certdeskd reloads its calendar when this table changes.
CREATE TABLE calendar_years (
    year INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    off_days INTEGER NOT NULL,
    work_days INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
