-- Bumped by every change that alters what a shop's public page shows (its listings,
-- their order and reasons, the shop's details and status, a listed product's data),
-- so a replica can serve a cached page after one primary-key read that proves it
-- current.
ALTER TABLE shop ADD COLUMN page_version bigint NOT NULL DEFAULT 0;
