-- Every UPDATE that takes a signal from removed to live (the upsert's DO UPDATE included) logs it.
CREATE TRIGGER moderation_signals_revived AFTER UPDATE OF removed_at ON moderation_signals FOR EACH ROW WHEN OLD.removed_at IS NOT NULL AND NEW.removed_at IS NULL BEGIN INSERT INTO moderation_signal_revivals (signal_id) VALUES (NEW.id); END;
