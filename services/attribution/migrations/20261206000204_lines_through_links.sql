-- Lines reached through a shop are found through the shop's share codes (a line's
-- shop is its code's link's shop, and a link never changes shop): one index fewer
-- written per paid line, one small index on the rarely written links instead.
CREATE INDEX rm_share_link_by_shop ON rm_share_link (shop_id);
DROP INDEX order_line_by_shop_product;
