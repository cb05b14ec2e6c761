DROP TABLE order_refunds;
DROP TABLE order_events;
DROP TABLE payment_attempts;
DROP TABLE order_lines;
DROP TABLE orders;
DROP SEQUENCE order_numbers;
ALTER TABLE markets DROP COLUMN pickup_places, DROP COLUMN delivery_fee_minor;
