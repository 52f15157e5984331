-- Every UPDATE that takes a signal from removed to live (ON CONFLICT DO UPDATE included) logs it.
CREATE FUNCTION moderation_signals_revived() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO moderation_signal_revivals (signal_id) VALUES (NEW.id); RETURN NULL; END $$;
CREATE TRIGGER moderation_signals_revived AFTER UPDATE OF removed_at ON moderation_signals FOR EACH ROW WHEN (OLD.removed_at IS NOT NULL AND NEW.removed_at IS NULL) EXECUTE FUNCTION moderation_signals_revived();
