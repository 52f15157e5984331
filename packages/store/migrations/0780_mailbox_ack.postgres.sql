-- PostgreSQL: acknowledgements delete by (device_id, id) through the partitions' primary keys, one probe
-- per acknowledged item. Planned as a plain statement, a batch of a few hundred pairs joined against the
-- 16-partition mailbox looks cheaper as a hash join over a sequential scan of every partition (the
-- planner prices the parameterised index probe in all 16 partitions, not in the one that run-time
-- pruning keeps), so each acknowledgement batch read the whole mailbox, dead rows included: O(mailbox)
-- per batch. The function pins the index plan (hash and merge joins off for its body only); PL/pgSQL
-- keeps the plan between calls (a LANGUAGE sql body would be planned again at every call, which costs
-- more than the deletes). The messages check shares the statement's snapshot, so it skips the mailbox
-- rows this call deletes; a message goes once no other row names it.
CREATE FUNCTION mailbox_ack(p_devices TEXT[], p_ids BIGINT[]) RETURNS TABLE (device_id TEXT, id BIGINT)
LANGUAGE plpgsql VOLATILE
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$ BEGIN
  RETURN QUERY WITH gone AS (
    DELETE FROM mailbox m USING unnest(p_devices, p_ids) AS a(device_id, id)
    WHERE m.device_id = a.device_id AND m.id = a.id
    RETURNING m.device_id, m.id, m.message_id
  ), freed AS (
    DELETE FROM messages WHERE messages.id IN (SELECT gone.message_id FROM gone)
    AND NOT EXISTS (SELECT 1 FROM mailbox WHERE mailbox.message_id = messages.id AND mailbox.id NOT IN (SELECT gone.id FROM gone))
  )
  SELECT gone.device_id, gone.id FROM gone; END
$$
