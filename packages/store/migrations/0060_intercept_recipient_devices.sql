-- The devices a retained message was delivered to: part of the escrow field's label (lawful access,
-- TDH2), which custodians recompute from the provider's signed delivery record.
ALTER TABLE intercepts ADD COLUMN recipient_devices TEXT NOT NULL DEFAULT '[]';
