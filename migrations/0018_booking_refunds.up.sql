-- Refunds of paid event tickets whose date was cancelled (issue 18): the
-- cart's sweep refunds each such booking once. booking_id names the
-- booking a refund was for (UNIQUE: never twice). A refund of a booking
-- is recorded before SumUp is asked (pending) and confirmed after, so a
-- sweep that stops between the two never asks SumUp again: a pending row
-- left behind is an alert for an admin, not a retry. Pending rows count
-- against what is left to refund but not in the order's refunded total.
ALTER TABLE order_refunds
    ADD COLUMN booking_id uuid UNIQUE REFERENCES bookings (id) ON DELETE SET NULL,
    ADD COLUMN pending boolean NOT NULL DEFAULT false;
