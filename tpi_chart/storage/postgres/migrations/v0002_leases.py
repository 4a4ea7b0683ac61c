"""PostgreSQL schema version 2: several rooms on one clinic (issue 18 §3).

- `leases`: who has a procedure open for charting, in which room, until when (the holder's
  heartbeat renews it; a dead app's lease lapses at `expires_at`, the server's clock).
- `tpi_leased()`: a write to a procedure, its sites, syringes or pain strokes while another
  program holds a live lease on it is refused with SQLSTATE TPI02 and a sentence naming the room
  and the person. The writer says who it is with the transaction-local setting
  `tpi.lease_holder`, set by the statement that opens every transaction
  (`PgConnection.begin`, together with the audit head lock): no extra round trip per click, and
  every writer (the window, a command, the signing step) is held to it.
- `tpi_notify()`: every committed audit row, and every lease taken or released, is announced on
  the channel `tpi_changes` (`pg_notify`, which PostgreSQL sends only when the transaction
  commits: a rolled-back write never announces anything). The payload names the audit row's
  seq, MAC, patient and procedure; the MAC tells a program its own writes from others'.

No SQLite counterpart: a file has one window (storage/live.py).
"""

SQL = r"""
CREATE TABLE leases (
    procedure_id bigint PRIMARY KEY REFERENCES procedures (id),
    holder       text NOT NULL,
    username     text NOT NULL,
    display_name text NOT NULL,
    room         text NOT NULL,
    taken_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at   timestamptz NOT NULL
);

CREATE FUNCTION tpi_leased() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_json jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
    target bigint;
    held leases%ROWTYPE;
BEGIN
    target := (row_json ->> CASE WHEN TG_TABLE_NAME = 'procedures' THEN 'id'
                                 ELSE 'procedure_id' END)::bigint;
    SELECT * INTO held FROM leases
     WHERE procedure_id = target
       AND expires_at > clock_timestamp()
       AND holder IS DISTINCT FROM nullif(current_setting('tpi.lease_holder', true), '');
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'TPI02', MESSAGE = format(
            'procedure %s is open in %s by %s: it is read-only here until they close it; '
            'nothing was saved', target, held.room, held.display_name);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER procedures_leased BEFORE UPDATE ON procedures
FOR EACH ROW EXECUTE FUNCTION tpi_leased();
CREATE TRIGGER sites_leased BEFORE INSERT OR UPDATE ON sites
FOR EACH ROW EXECUTE FUNCTION tpi_leased();
CREATE TRIGGER preparations_leased BEFORE INSERT OR UPDATE OR DELETE ON preparations
FOR EACH ROW EXECUTE FUNCTION tpi_leased();
CREATE TRIGGER pain_strokes_leased BEFORE INSERT OR UPDATE ON pain_strokes
FOR EACH ROW EXECUTE FUNCTION tpi_leased();

CREATE FUNCTION tpi_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'audit' THEN
        PERFORM pg_notify('tpi_changes', json_build_object(
            'seq', NEW.seq, 'mac', NEW.mac, 'patient', NEW.patient_id,
            'procedure', NEW.procedure_id)::text);
    ELSE
        PERFORM pg_notify('tpi_changes', json_build_object(
            'lease', CASE WHEN TG_OP = 'DELETE' THEN OLD.procedure_id ELSE NEW.procedure_id END,
            'holder', CASE WHEN TG_OP = 'DELETE' THEN OLD.holder ELSE NEW.holder END)::text);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER audit_notify AFTER INSERT ON audit
FOR EACH ROW EXECUTE FUNCTION tpi_notify();
CREATE TRIGGER leases_notify AFTER INSERT OR DELETE ON leases
FOR EACH ROW EXECUTE FUNCTION tpi_notify();
CREATE TRIGGER leases_notify_holder AFTER UPDATE ON leases
FOR EACH ROW WHEN (OLD.holder IS DISTINCT FROM NEW.holder) EXECUTE FUNCTION tpi_notify();
"""
