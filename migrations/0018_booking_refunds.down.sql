DELETE FROM order_refunds WHERE pending;
ALTER TABLE order_refunds
    DROP COLUMN pending,
    DROP COLUMN booking_id;
