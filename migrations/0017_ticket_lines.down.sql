DELETE FROM order_lines WHERE kind = 'ticket';
ALTER TABLE order_lines
    DROP CONSTRAINT order_lines_ticket_check,
    DROP COLUMN ticket_type_id,
    DROP COLUMN occurrence_id,
    DROP COLUMN kind;
