-- Paid event tickets in orders (issue 18): an order line is either a
-- product line (a variant of a market's product, its stock held) or a
-- ticket line (places of a ticket type at an event's date, held by a
-- booking of the order until it is paid). The columns of the other kind
-- stay empty; the references go empty when what they name is deleted, as
-- the product line's do, and the line keeps its title and price.
ALTER TABLE order_lines
    ADD COLUMN kind text NOT NULL DEFAULT 'product' CHECK (kind IN ('product', 'ticket')),
    ADD COLUMN occurrence_id uuid REFERENCES event_occurrences (id) ON DELETE SET NULL,
    ADD COLUMN ticket_type_id uuid REFERENCES ticket_types (id) ON DELETE SET NULL,
    ADD CONSTRAINT order_lines_ticket_check CHECK (
        (kind = 'product' AND occurrence_id IS NULL AND ticket_type_id IS NULL) OR
        (kind = 'ticket' AND market_id IS NULL AND product_id IS NULL AND variant_id IS NULL AND held = 0));
