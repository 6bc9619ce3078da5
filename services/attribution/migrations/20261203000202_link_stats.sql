-- Per-link statistics for the promoter app: a promoter's links, and the clicks on one
-- link in a period. (Lines already have order_line_by_promoter.)
CREATE INDEX rm_share_link_by_promoter ON rm_share_link (promoter_id);
CREATE INDEX click_by_code ON click (share_code, clicked_at);
