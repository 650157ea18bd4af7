-- A decision committed just before a crash (the stored idempotent response
-- not yet written) is found again by its Idempotency-Key, so its retry is
-- answered as a replay instead of being refused by the state machine.
CREATE INDEX audit_idempotency ON audit (idempotency_key, actor, target)
    WHERE idempotency_key IS NOT NULL;
