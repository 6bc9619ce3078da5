-- A line a risk rule held at attribution: it stays estimated (never settleable, so
-- never in a batch) until finance releases it there.
ALTER TABLE position ADD COLUMN on_hold boolean NOT NULL DEFAULT false;
