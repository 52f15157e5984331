-- Signals may carry their own action and severity: a text rule's (block, hold, label, allow; low …
-- critical), or a hash's override of its bank's default action. NULL: the bank decides.
ALTER TABLE moderation_signals ADD COLUMN action TEXT;
ALTER TABLE moderation_signals ADD COLUMN severity TEXT;
