-- A batch's status follows its lines once exported: paid when every payable line is
-- paid, partially paid when every one is recorded and some failed.
ALTER TABLE batch DROP CONSTRAINT batch_status_check;
ALTER TABLE batch ADD CONSTRAINT batch_status_check
    CHECK (status IN ('draft', 'approved', 'exported', 'paid', 'partially_paid'));
