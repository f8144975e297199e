"""The floors: hand-written set-based SQL that writes the same rows as the app's pass, on an identical copy, with
the pass's chunks and row locks (one transaction per chunk, in a plpgsql loop), and the checksums that say
whether it did. What the app writes beyond (the pass's own records: pass runs, progress) is left out.

Each floor is a function of the as-of day and the pass's chunk sizes (`CHUNKS`, read from the code by
bench.app's `chunks` step), returning a psql script. Templates are filled by `fill`: `{name}` is replaced for
the names given, every other brace (JSON) is left alone."""

import re

# The app's chunk sizes and terms, as in the code (bench.app `chunks` reads the code's own values).
CHUNKS = {
    "billing": 1000,  # billing.passes.CHUNK_SIZE: account ids per claim (one transaction)
    "due": 1000,  # accounts.passes.DUE_CHUNK: changes claimed and applied per transaction
    "bulk": 500,  # accounts.bulk.services.CHUNK: accounts per engine call and transaction
    "bulk_collect": 20_000,  # accounts.bulk.services.COLLECT_STEP: items written per transaction
    "collections": 20_000,  # dunning.passes.CHUNK: account ids per range (one transaction)
    "provisioning": 5000,  # settings.ENGAGE_PROVISIONING_BATCH (the ledger back end batches)
    "terms": 14,  # settings.ENGAGE_PAYMENT_TERMS_DAYS: an invoice is due this many days after its issue
}


def fill(template: str, **values) -> str:
    """`template` with each `{name}` of `values` replaced by its value."""
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m[1]]) if m[1] in values else m[0], template)


# A chunk's rows are named by arrays of ids (`= ANY(_ids)`, as the app's `pk__any`), so each statement reads
# its chunk's rows through an index at any size, whatever plan PostgreSQL caches for the loop's statements;
# the small temp tables are analyzed once filled (PostgreSQL knows nothing of a temp table's rows otherwise).
# (Not plan_cache_mode = force_custom_plan: the foreign keys' checks at each commit, cached plans too, then
# cost five times what they cost the app.)

# A package's line description (billing.lines.package_label).
LABEL = "CASE WHEN up.quantity <> 1 THEN p.name || ' × ' || up.quantity ELSE p.name END"

# The billing pass (billing.passes.billing_pass): range by range of account ids (one transaction each), the
# range's accounts with something due claimed (FOR UPDATE SKIP LOCKED, as billing.passes._claim), their due
# packages' recurring lines (one period each: the data set's packages fall due once) and unbilled usage lines,
# one invoice per account and day the lines fell due, next bill dates advanced, usage marked billed, their
# billing failures resolved.
BILLING = """
CREATE TEMP TABLE due (id bigint, account_id bigint, amount numeric, s date, e date, name text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE used (id bigint, account_id bigint, amount numeric, occurred_on date, description text)
  ON COMMIT DELETE ROWS;
CREATE TEMP TABLE inv (id bigint, account_id bigint, day date, total numeric) ON COMMIT DELETE ROWS;
DO $floor$
DECLARE _lo bigint; _hi bigint; _acc bigint[]; _pkg bigint[]; _use bigint[];
BEGIN
  SELECT coalesce(min(id), 1) - 1, coalesce(max(id), 0) INTO _lo, _hi FROM accounts_account;
  WHILE _lo < _hi LOOP
    -- The range's bounds as literals (EXECUTE), as the app sends them: planned for this range, not generically.
    EXECUTE format($q$SELECT array_agg(id ORDER BY id) FROM (
      SELECT a.id FROM accounts_account a
      WHERE a.id > %1$s AND a.id <= %2$s
        AND a.status_type_id IN (SELECT id FROM statuses_accountstatustype WHERE backend_status = 'active')
        -- The subqueries bounded to the range as the pass's claim is (else a hashed subplan over every package).
        AND (EXISTS (SELECT 1 FROM billing_userpackage up WHERE up.account_id = a.id AND up.status = 'active'
                     AND up.next_bill_date <= date '{as_of}' AND up.account_id > %1$s AND up.account_id <= %2$s)
             OR EXISTS (SELECT 1 FROM billing_usagerecord r WHERE r.account_id = a.id AND NOT r.billed
                        AND r.occurred_on <= date '{as_of}' AND r.account_id > %1$s AND r.account_id <= %2$s))
      ORDER BY a.id FOR UPDATE OF a SKIP LOCKED) x$q$, _lo, least(_lo + {chunk}, _hi)) INTO _acc;
    IF _acc IS NOT NULL THEN
      INSERT INTO due
      SELECT up.id, up.account_id, up.price * up.quantity, up.next_bill_date,
             (up.next_bill_date + interval '1 month')::date, {label}
      FROM billing_userpackage up JOIN billing_package p ON p.id = up.package_id
      WHERE up.account_id = ANY(_acc) AND up.status = 'active' AND up.next_bill_date <= date '{as_of}';
      INSERT INTO used
      SELECT r.id, r.account_id, r.amount, r.occurred_on, coalesce(nullif(r.description, ''), 'Usage')
      FROM billing_usagerecord r
      WHERE r.account_id = ANY(_acc) AND NOT r.billed AND r.occurred_on <= date '{as_of}';
      ANALYZE due;
      ANALYZE used;
      SELECT array_agg(id ORDER BY id) INTO _pkg FROM due;
      SELECT array_agg(id ORDER BY id) INTO _use FROM used;
      UPDATE billing_billingfailure SET resolved = true WHERE account_id = ANY(_acc) AND NOT resolved;
      INSERT INTO inv
      SELECT nextval(pg_get_serial_sequence('billing_invoice', 'id')), account_id, day, total FROM (
        SELECT account_id, day, sum(total) AS total FROM (
          SELECT account_id, s AS day, amount AS total FROM due
          UNION ALL SELECT account_id, occurred_on, amount FROM used) x
        GROUP BY 1, 2 ORDER BY 1, 2) y;
      ANALYZE inv;
      INSERT INTO billing_invoice (id, account_id, created_at, issued_on, due_on, total)
      SELECT id, account_id, now(), day, day + {terms}, total FROM inv;
      INSERT INTO billing_chargeline (account_id, user_package_id, usage_record_id, status_change_id, kind, amount,
        period_start, period_end, description, invoice_id, created_at)
      SELECT due.account_id, due.id, NULL::bigint, NULL::bigint, 'recurring', due.amount, due.s, due.e, due.name,
        inv.id, now()
      FROM due JOIN inv ON inv.account_id = due.account_id AND inv.day = due.s
      UNION ALL
      SELECT used.account_id, NULL::bigint, used.id, NULL::bigint, 'usage', used.amount, used.occurred_on,
        used.occurred_on, used.description, inv.id, now()
      FROM used JOIN inv ON inv.account_id = used.account_id AND inv.day = used.occurred_on;
      UPDATE billing_userpackage up SET next_bill_date = due.e FROM due WHERE up.id = due.id AND up.id = ANY(_pkg);
      UPDATE billing_usagerecord r SET billed = true WHERE r.id = ANY(_use);
    END IF;
    COMMIT;
    _lo := _lo + {chunk};
  END LOOP;
END $floor$;
"""


def billing(as_of, chunks=CHUNKS) -> str:
    return fill(BILLING, as_of=as_of, chunk=chunks["billing"], terms=chunks["terms"], label=LABEL)


# Applying status changes of one kind for many accounts, inside a chunk's transaction (a plpgsql block):
# prorated, dated `d`, with each account's packages billed through the period containing d (as after the
# billing pass). The caller has put the changes in `src` (change id, account, type, reason, date), saved their
# rows and locked their accounts. As the engine's writer (accounts/engine/writer.py apply_changes): the
# packages locked, each package's prorated credit (exact to the cent) in one invoice per account and day,
# next bill dates, statuses, versions, the change rows applied, the counters (a delta row per type where the
# code has StatusTypeCountDelta), an audit entry per change as audit_changes writes it, the per-reason roll-up
# (appended where the table takes several rows per key), a provisioning job and a status e-mail per change.
# `{actor}` is the user who asked (executed_by, and the audit entries' actor: a bulk change's creator), or NULL
# (the scheduler: "system"). The caller declares BODY_VARIABLES.
CHANGES_TABLES = """
CREATE TEMP TABLE src (id bigint, account_id bigint, to_type_id bigint, reason_id bigint, effective_date date)
  ON COMMIT DELETE ROWS;
CREATE TEMP TABLE ch (id bigint, account_id bigint, to_type_id bigint, reason_id bigint, d date, option text,
  note text, from_type bigint, from_backend text, to_backend text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE cr (up_id bigint, account_id bigint, change_id bigint, d date, e date, amount numeric, name text)
  ON COMMIT DELETE ROWS;
CREATE TEMP TABLE cinv (id bigint, account_id bigint, d date, total numeric) ON COMMIT DELETE ROWS;
"""
BODY_VARIABLES = "_chg bigint[]; _acc bigint[]; _pkg bigint[];"
CHANGES_BODY = """
    ANALYZE src;
    SELECT array_agg(id ORDER BY id), array_agg(account_id ORDER BY account_id) INTO _chg, _acc FROM src;
    INSERT INTO ch
    SELECT s.id, s.account_id, s.to_type_id, s.reason_id, s.effective_date, c.option, c.note, a.status_type_id,
           f.backend_status, t.backend_status
    FROM src s JOIN accounts_statuschange c ON c.id = s.id AND c.id = ANY(_chg)
    JOIN accounts_account a ON a.id = s.account_id AND a.id = ANY(_acc)
    JOIN statuses_accountstatustype f ON f.id = a.status_type_id
    JOIN statuses_accountstatustype t ON t.id = s.to_type_id;
    ANALYZE ch;
    PERFORM 1 FROM billing_userpackage WHERE account_id = ANY(_acc) AND status = 'active'
      ORDER BY account_id, id FOR UPDATE;
    INSERT INTO cr
    SELECT up.id, ch.account_id, ch.id, ch.d, up.next_bill_date,
           -round(up.price * up.quantity * (up.next_bill_date - ch.d)::numeric
                  / (up.next_bill_date - (up.next_bill_date - interval '1 month')::date), 2),
           {label}
    FROM ch JOIN billing_userpackage up ON up.account_id = ch.account_id AND up.account_id = ANY(_acc)
      AND up.status = 'active' AND up.next_bill_date > ch.d AND up.start_date <= ch.d
    JOIN billing_package p ON p.id = up.package_id
    WHERE ch.from_backend = 'active' AND ch.to_backend IN ('suspended', 'cancelled')
      AND ch.option IN ('immediately_with_prorated_transaction', 'specific_date');
    ANALYZE cr;
    SELECT array_agg(up_id ORDER BY up_id) INTO _pkg FROM cr;
    INSERT INTO cinv
    SELECT nextval(pg_get_serial_sequence('billing_invoice', 'id')), account_id, d, total
    FROM (SELECT account_id, d, sum(amount) AS total FROM cr GROUP BY 1, 2 ORDER BY 1, 2) x;
    ANALYZE cinv;
    INSERT INTO billing_invoice (id, account_id, created_at, issued_on, due_on, total)
    SELECT id, account_id, now(), d, d + {terms}, total FROM cinv;
    INSERT INTO billing_chargeline (account_id, user_package_id, usage_record_id, status_change_id, kind, amount,
      period_start, period_end, description, invoice_id, created_at)
    SELECT cr.account_id, cr.up_id, NULL::bigint, cr.change_id, 'prorated_credit', cr.amount, cr.d, cr.e, cr.name,
      cinv.id, now()
    FROM cr JOIN cinv ON cinv.account_id = cr.account_id AND cinv.d = cr.d ORDER BY cr.account_id, cr.up_id;
    UPDATE billing_userpackage up SET next_bill_date = cr.d FROM cr WHERE up.id = cr.up_id AND up.id = ANY(_pkg);
    UPDATE accounts_account a SET status_type_id = ch.to_type_id,
      cancelled_on = CASE WHEN ch.to_backend = 'cancelled' THEN ch.d END,
      left_prospect_on = CASE WHEN ch.from_backend = 'prospect' AND ch.to_backend <> 'prospect' THEN ch.d
                              ELSE a.left_prospect_on END,
      version = a.version + 1
    FROM ch WHERE a.id = ch.account_id AND a.id = ANY(_acc);
    UPDATE accounts_statuschange c SET state = 'applied', from_type_id = ch.from_type, executed_at = now(),
      executed_by_id = {actor}
    FROM ch WHERE c.id = ch.id AND c.id = ANY(_chg);
    IF to_regclass('accounts_statustypecountdelta') IS NOT NULL THEN
      INSERT INTO accounts_statustypecountdelta (status_type_id, delta)
      SELECT type_id, sum(k) FROM (SELECT from_type AS type_id, -1 AS k FROM ch
        UNION ALL SELECT to_type_id, 1 FROM ch) x GROUP BY 1 HAVING sum(k) <> 0 ORDER BY 1;
    ELSE
      UPDATE accounts_statustypecount n SET count = n.count + x.k
      FROM (SELECT type_id, sum(k) AS k FROM (SELECT from_type AS type_id, -1 AS k FROM ch
            UNION ALL SELECT to_type_id, 1 FROM ch) y GROUP BY 1) x WHERE n.status_type_id = x.type_id;
    END IF;
    INSERT INTO engage_auditentry (at, actor_id, actor_name, address, action, object_type, object_id, object_repr,
      account_id, before, after)
    SELECT now(), {actor}, coalesce((SELECT username FROM auth_user WHERE id = {actor}), 'system'), NULL,
      'status_change', 'status change', ch.id,
      left(f.name || ' → ' || t.name || ' on ' || to_char(ch.d, 'YYYY-MM-DD'), 200), ch.account_id,
      jsonb_build_object('status_type', f.name),
      jsonb_build_object('status_type', t.name, 'option', ch.option, 'effective_date', to_char(ch.d, 'YYYY-MM-DD'),
        'reason', r.name, 'note', ch.note, 'state', 'applied', 'transactions', coalesce(x.lines, '[]'::jsonb))
    FROM ch JOIN statuses_accountstatustype f ON f.id = ch.from_type
    JOIN statuses_accountstatustype t ON t.id = ch.to_type_id
    LEFT JOIN statuses_statusreason r ON r.id = ch.reason_id
    LEFT JOIN (SELECT change_id, jsonb_agg(jsonb_build_object('kind', 'prorated_credit', 'amount', amount::text)
               ORDER BY up_id) AS lines FROM cr GROUP BY 1) x ON x.change_id = ch.id
    ORDER BY ch.account_id;
    IF EXISTS (SELECT 1 FROM pg_index WHERE indrelid = 'reporting_reasondaycount'::regclass AND indisunique
               AND NOT indisprimary) THEN
      INSERT INTO reporting_reasondaycount (day, reason_id, backend_status, count)
      SELECT d, coalesce(reason_id, 0), to_backend, count(*) FROM ch GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (day, reason_id, backend_status)
      DO UPDATE SET count = reporting_reasondaycount.count + excluded.count;
    ELSE  -- append-only: a row per key and transaction, folded later
      INSERT INTO reporting_reasondaycount (day, reason_id, backend_status, count)
      SELECT d, coalesce(reason_id, 0), to_backend, count(*) FROM ch GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
    END IF;
    INSERT INTO provisioning_provisioningjob (account_id, target, state, idempotency_key, attempts, last_error,
      created_at)
    SELECT account_id, CASE to_backend WHEN 'active' THEN 'enabled' WHEN 'suspended' THEN 'suspended'
      ELSE 'absent' END, 'pending', gen_random_uuid(), 0, '', now() FROM ch ORDER BY account_id;
    INSERT INTO engage_outboxmessage (kind, payload, created_at, handovers, failures, last_error)
    SELECT 'accounts.status_email', jsonb_build_object('change_id', id), now(), 0, 0, '' FROM ch ORDER BY id;
"""


def changes_body(chunks=CHUNKS, actor: str = "NULL") -> str:
    return fill(CHANGES_BODY, label=LABEL, terms=chunks["terms"], actor=actor)


# The dated-changes step's data, on the billed copy: k pending prorated suspensions dated the as-of day, for
# the first k active accounts.
DUE_DATA = """
INSERT INTO accounts_statuschange (account_id, from_type_id, to_type_id, option, effective_date, reason_id,
  note, state, failure_reason, source, created_at)
SELECT a.id, a.status_type_id, (SELECT min(id) FROM statuses_accountstatustype WHERE backend_status = 'suspended'),
  'immediately_with_prorated_transaction', date '{as_of}', (SELECT id FROM statuses_statusreason
  WHERE name = 'Non-payment'), '', 'pending', '', '', now()
FROM accounts_account a JOIN statuses_accountstatustype t ON t.id = a.status_type_id
WHERE t.backend_status = 'active' ORDER BY a.id LIMIT {n};
VACUUM ANALYZE accounts_statuschange;
"""

# The due-change pass (accounts.passes.apply_due_status_changes): the due changes' ids read once in date order,
# then chunk by chunk, one transaction each: claimed (each its account's earliest pending change, FOR UPDATE
# SKIP LOCKED), their accounts locked in pk order, applied.
DUE = CHANGES_TABLES + """
CREATE TEMP TABLE due_ids AS
SELECT id, row_number() OVER (ORDER BY effective_date, id) AS rn FROM accounts_statuschange
WHERE state = 'pending' AND effective_date <= date '{as_of}';
CREATE INDEX ON due_ids (rn);
ANALYZE due_ids;
DO $floor$
DECLARE _done bigint := 0; _total bigint; _ids bigint[]; {variables}
BEGIN
  SELECT count(*) INTO _total FROM due_ids;
  WHILE _done < _total LOOP
    SELECT array_agg(id ORDER BY rn) INTO _ids FROM due_ids WHERE rn > _done AND rn <= _done + {chunk};
    INSERT INTO src
    SELECT c.id, c.account_id, c.to_type_id, c.reason_id, c.effective_date
    FROM accounts_statuschange c
    WHERE c.id = ANY(_ids)
      AND c.state = 'pending' AND c.effective_date <= date '{as_of}'
      AND c.effective_date = (SELECT p.effective_date FROM accounts_statuschange p
                              WHERE p.account_id = c.account_id AND p.state = 'pending'
                              ORDER BY p.effective_date LIMIT 1)
    ORDER BY c.effective_date, c.id FOR UPDATE OF c SKIP LOCKED;
    SELECT array_agg(account_id ORDER BY account_id) INTO _acc FROM src;
    PERFORM 1 FROM accounts_account WHERE id = ANY(_acc) ORDER BY id FOR UPDATE;
{body}
    COMMIT;
    _done := _done + {chunk};
  END LOOP;
END $floor$;
"""


def due(as_of, chunks=CHUNKS) -> str:
    return fill(DUE, as_of=as_of, chunk=chunks["due"], body=changes_body(chunks), variables=BODY_VARIABLES)


# The user who asks for the bulk change (bench.app's `bench-bulk`, an Administrator), made on both copies
# before the step: the change rows name it (created_by, executed_by), and the job.
BULK_USER = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
  date_joined)
VALUES ('', false, 'bench-bulk', '', '', '', false, true, now()) ON CONFLICT (username) DO NOTHING;
INSERT INTO auth_user_groups (user_id, group_id)
SELECT u.id, g.id FROM auth_user u, auth_group g WHERE u.username = 'bench-bulk' AND g.name = 'Administrators'
ON CONFLICT DO NOTHING;
"""

# The bulk change (accounts.bulk.services): a file of the first k active accounts' numbers, suspended now with
# a prorated credit, reason Non-payment, note "bench". The request (bulk_change_submit): the job (its request
# key as _key hashes it), its audit entry and the outbox message that hands it to a worker, in one
# transaction; then the run (bulk_change_run), each transaction with the job's row locked (SKIP LOCKED): its
# items written (COLLECT_STEP at a time), then CHUNK accounts at a time, their accounts locked, the change rows
# saved and applied (the body), the items' outcomes and the job's progress and tallies; last, the job done.
BULK = CHANGES_TABLES + """
CREATE TEMP TABLE chunk (id bigint, account_id bigint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE picked AS
SELECT a.id, a.number, row_number() OVER (ORDER BY a.id) AS rn
FROM accounts_account a JOIN statuses_accountstatustype t ON t.id = a.status_type_id
WHERE t.backend_status = 'active' ORDER BY a.id LIMIT {n};
CREATE INDEX ON picked (rn);
ANALYZE picked;
BEGIN;
CREATE TEMP TABLE req ON COMMIT DROP AS
SELECT u.id AS actor, (SELECT min(id) FROM statuses_accountstatustype WHERE backend_status = 'suspended') AS to_type,
  (SELECT id FROM statuses_statusreason WHERE name = 'Non-payment') AS reason,
  'immediately_with_prorated_transaction'::text AS option, 'bench'::text AS note
FROM auth_user u WHERE u.username = 'bench-bulk';
WITH job AS (
  INSERT INTO accounts_bulkstatusjob (created_by_id, created_at, request_key, selection, selection_text,
    selection_params, collected, to_type_id, option, effective_date, reason_id, note, requested_on, state, total,
    checked, processed, dry_run, result, error)
  SELECT req.actor, now(),
    encode(sha256(convert_to('{"actor": ' || req.actor || ', "effective_date": null, "note": ' || to_json(req.note)
      || ', "on": "{as_of}", "option": ' || to_json(req.option) || ', "reason": ' || req.reason
      || ', "selection": {"numbers": [' || p.numbers || ']}, "to_type": ' || req.to_type || '}', 'UTF8')), 'hex'),
    'csv', p.text, jsonb_build_object('numbers', p.list), false, req.to_type, req.option, NULL, req.reason,
    req.note, date '{as_of}', 'queued', 0, 0, 0, '{}'::jsonb, '{}'::jsonb, ''
  FROM req, (SELECT string_agg(to_json(number)::text, ', ' ORDER BY id) AS numbers,
                    jsonb_agg(number ORDER BY id) AS list,
                    to_char(count(*), 'FM999,999,999,999') || ' account numbers from a file' AS text
             FROM picked) p
  RETURNING id, selection_text
), audited AS (
  INSERT INTO engage_auditentry (at, actor_id, actor_name, address, action, object_type, object_id, object_repr,
    account_id, before, after)
  SELECT now(), NULL, 'system', NULL, 'bulk_status_change', 'bulk status job', job.id,
    left('Bulk change #' || job.id || ': ' || job.selection_text, 200), NULL, NULL,
    jsonb_build_object('to', t.name, 'option', req.option, 'effective_date', NULL, 'reason', r.name,
                       'selection', job.selection_text, 'dry_run', false)
  FROM job, req JOIN statuses_accountstatustype t ON t.id = req.to_type
  JOIN statuses_statusreason r ON r.id = req.reason
)
INSERT INTO engage_outboxmessage (kind, payload, created_at, handovers, failures, last_error)
SELECT 'accounts.bulk_status_job', jsonb_build_object('job_id', id), now(), 0, 0, '' FROM job;
COMMIT;
DO $floor$
DECLARE _job bigint; _actor bigint; _written bigint := 0; _n bigint; _processed bigint; _items bigint[]; {variables}
BEGIN
  SELECT id, created_by_id INTO _job, _actor FROM accounts_bulkstatusjob ORDER BY id DESC LIMIT 1;
  LOOP  -- the items, COLLECT_STEP at a time
    PERFORM 1 FROM accounts_bulkstatusjob WHERE id = _job FOR UPDATE SKIP LOCKED;
    INSERT INTO accounts_bulkstatusitem (job_id, position, account_id, number, state, skip_code, message)
    SELECT _job, p.rn - 1, a.id, p.number, 'waiting', '', ''
    FROM picked p LEFT JOIN accounts_account a ON a.number = p.number
    WHERE p.rn > _written AND p.rn <= _written + {collect} ORDER BY p.rn;
    GET DIAGNOSTICS _n = ROW_COUNT;
    _written := _written + _n;
    UPDATE accounts_bulkstatusjob SET total = _written, collected = _n < {collect} WHERE id = _job;
    COMMIT;
    EXIT WHEN _n < {collect};
  END LOOP;
  LOOP  -- the run, CHUNK accounts a transaction
    SELECT processed INTO _processed FROM accounts_bulkstatusjob WHERE id = _job FOR UPDATE SKIP LOCKED;
    INSERT INTO chunk SELECT id, account_id FROM accounts_bulkstatusitem
    WHERE job_id = _job AND position >= _processed ORDER BY position LIMIT {chunk};
    GET DIAGNOSTICS _n = ROW_COUNT;
    ANALYZE chunk;
    IF _n = 0 THEN
      UPDATE accounts_bulkstatusjob SET state = 'done', finished_at = now() WHERE id = _job;
      COMMIT;
      EXIT;
    END IF;
    SELECT array_agg(id ORDER BY id), array_agg(account_id ORDER BY account_id) INTO _items, _acc FROM chunk;
    PERFORM 1 FROM accounts_account WHERE id = ANY(_acc) ORDER BY id FOR UPDATE;
    WITH ins AS (
      INSERT INTO accounts_statuschange (account_id, from_type_id, to_type_id, option, effective_date, reason_id,
        note, state, failure_reason, source, created_by_id, created_at)
      SELECT a.id, a.status_type_id, j.to_type_id, j.option, date '{as_of}', j.reason_id, j.note, 'applied', '', '',
        _actor, now()
      FROM chunk c JOIN accounts_account a ON a.id = c.account_id AND a.id = ANY(_acc), accounts_bulkstatusjob j
      WHERE j.id = _job ORDER BY a.id
      RETURNING id, account_id, to_type_id, reason_id, effective_date
    ) INSERT INTO src SELECT * FROM ins;
{body}
    UPDATE accounts_bulkstatusitem SET state = 'applied', skip_code = '', message = '' WHERE id = ANY(_items);
    UPDATE accounts_bulkstatusjob j SET state = 'running', started_at = coalesce(j.started_at, now()),
      processed = j.processed + _n,
      result = jsonb_build_object(
        'counts', jsonb_build_object('applied', coalesce((j.result -> 'counts' ->> 'applied')::bigint, 0) + _n),
        'skips', coalesce(j.result -> 'skips', '{}'::jsonb),
        'totals', (SELECT coalesce(jsonb_object_agg(kind, total::text), '{}'::jsonb) FROM (
          SELECT kind, sum(amount) AS total FROM (
            SELECT key AS kind, value::numeric AS amount FROM jsonb_each_text(coalesce(j.result -> 'totals', '{}'))
            UNION ALL SELECT 'prorated_credit', amount FROM cr) x GROUP BY 1) y))
    WHERE j.id = _job;
    COMMIT;
  END LOOP;
END $floor$;
"""


def bulk(as_of, n: int, chunks=CHUNKS) -> str:
    return fill(BULK, as_of=as_of, n=n, chunk=chunks["bulk"], collect=chunks["bulk_collect"],
                body=changes_body(chunks, actor="_actor"), variables=BODY_VARIABLES)


# The provisioning pass (provisioning.passes.provisioning_pass, ledger back end): drift jobs for the accounts
# whose switch entry is not their desired state and that have no open job; then the accounts with open jobs,
# a batch at a time (one transaction each): their jobs locked (SKIP LOCKED), the older superseded, the newest
# target applied to the switch (absent: deleted; else upserted), the newest done (its attempt counted).
PROVISIONING = """
CREATE TEMP TABLE newest (id bigint, account_id bigint, target text) ON COMMIT DELETE ROWS;
INSERT INTO provisioning_provisioningjob (account_id, target, state, idempotency_key, attempts, last_error, created_at)
SELECT a.id, x.desired, 'pending', gen_random_uuid(), 0, '', now()
FROM accounts_account a JOIN statuses_accountstatustype t ON t.id = a.status_type_id
CROSS JOIN LATERAL (SELECT CASE t.backend_status WHEN 'active' THEN 'enabled' WHEN 'suspended' THEN 'suspended'
                    ELSE 'absent' END AS desired) x
LEFT JOIN provisioning_switchentry s ON s.account_id = a.id
WHERE x.desired <> coalesce(s.state, 'absent')
  AND NOT EXISTS (SELECT 1 FROM provisioning_provisioningjob j WHERE j.account_id = a.id
                  AND j.state IN ('pending', 'failed'))
ORDER BY a.id;
DO $floor$
DECLARE _last bigint := 0; _acc bigint[]; _newest bigint[]; _held bigint[];
BEGIN
  LOOP
    SELECT array_agg(account_id ORDER BY account_id) INTO _acc FROM (
      SELECT DISTINCT account_id FROM provisioning_provisioningjob
      WHERE state IN ('pending', 'failed') AND (next_attempt_at IS NULL OR next_attempt_at <= now())
        AND account_id > _last ORDER BY account_id LIMIT {chunk}) x;
    EXIT WHEN _acc IS NULL;
    _last := _acc[array_length(_acc, 1)];
    INSERT INTO newest
    SELECT DISTINCT ON (account_id) id, account_id, target FROM (
      SELECT id, account_id, target FROM provisioning_provisioningjob
      WHERE account_id = ANY(_acc) AND state IN ('pending', 'failed')
      ORDER BY account_id, id FOR UPDATE SKIP LOCKED) j
    ORDER BY account_id, id DESC;
    ANALYZE newest;
    SELECT array_agg(id ORDER BY id), array_agg(account_id ORDER BY account_id) INTO _newest, _held FROM newest;
    UPDATE provisioning_provisioningjob j SET state = 'superseded', finished_at = now(), leased_until = NULL
    WHERE j.account_id = ANY(_held) AND j.state IN ('pending', 'failed') AND NOT j.id = ANY(_newest);
    DELETE FROM provisioning_switchentry s USING newest n
    WHERE s.account_id = n.account_id AND s.account_id = ANY(_held) AND n.target = 'absent';
    INSERT INTO provisioning_switchentry (account_id, state, updated_at)
    SELECT account_id, target, now() FROM newest WHERE target <> 'absent' ORDER BY account_id
    ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at;
    UPDATE provisioning_provisioningjob j SET state = 'done', finished_at = now(), next_attempt_at = NULL,
      leased_until = NULL, attempts = j.attempts + 1
    WHERE j.id = ANY(_newest);
    COMMIT;
  END LOOP;
END $floor$;
"""


def provisioning(chunks=CHUNKS) -> str:
    return fill(PROVISIONING, chunk=chunks["provisioning"])


# The collections pass's data, on a billed copy (after the billing pass): every account that is not a prospect
# had last month's invoice (issued 40 days before the as-of day, due 26 days before) and paid it; every
# invoice since (the billing pass's) is paid too, except by 5 % of the accounts (all active: id % 20 = 5),
# which also have an invoice due 20 days before the as-of day and paid neither. Two steps: a reminder after
# 7 days and "Suspend after 14 days" (status change, Non-payment, prorated) — each overdue account gets the
# suspension and the reminder is passed over.
COLLECTIONS_DATA = """
SET synchronous_commit = off;
CREATE TEMP TABLE late AS SELECT a.id FROM accounts_account a
JOIN statuses_accountstatustype t ON t.id = a.status_type_id WHERE t.backend_status = 'active' AND a.id % 20 = 5;
INSERT INTO billing_invoice (account_id, created_at, issued_on, due_on, total)
SELECT up.account_id, timestamptz '{as_of}' - interval '40 days', date '{as_of}' - 40, date '{as_of}' - 26,
  sum(up.price * up.quantity)
FROM billing_userpackage up JOIN accounts_account a ON a.id = up.account_id
JOIN statuses_accountstatustype t ON t.id = a.status_type_id
WHERE t.backend_status <> 'prospect' GROUP BY up.account_id;
INSERT INTO billing_payment (account_id, amount, paid_on, method, reference, reason, created_at)
SELECT i.account_id, i.total, least(i.issued_on + 5, date '{as_of}'), 'direct_debit', 'DD ' || i.id, '',
  timestamptz '{as_of}' - (date '{as_of}' - least(i.issued_on + 5, date '{as_of}')) * interval '1 day'
FROM billing_invoice i
WHERE i.total > 0
  AND (i.issued_on = date '{as_of}' - 40 OR NOT EXISTS (SELECT 1 FROM late WHERE late.id = i.account_id));
INSERT INTO billing_invoice (account_id, created_at, issued_on, due_on, total)
SELECT up.account_id, timestamptz '{as_of}' - interval '34 days', date '{as_of}' - 34, date '{as_of}' - 20,
  sum(up.price * up.quantity)
FROM billing_userpackage up JOIN late ON late.id = up.account_id GROUP BY up.account_id;
INSERT INTO dunning_collectionstep (name, position, days_overdue, min_amount, action, status_type_id, reason_id,
  option, restore_to_id, subject, body)
VALUES ('Reminder after 7 days', 1, 7, 0, 'reminder', NULL, NULL, '', NULL, 'Account {number}: a payment is overdue',
  'Dear {name}, {overdue_amount} has been overdue for {overdue_days} days (since {oldest_due_on}).'),
  ('Suspend after 14 days', 2, 14, 0, 'status_change',
  (SELECT min(id) FROM statuses_accountstatustype WHERE backend_status = 'suspended'),
  (SELECT id FROM statuses_statusreason WHERE name = 'Non-payment'), 'immediately_with_prorated_transaction', NULL,
  '', '');
VACUUM ANALYZE;
"""

# The collections pass for one day (dunning.passes.collections_day), range by range of account ids (one
# transaction each): what is overdue in the range (the allocation of billing.overdue, in one window-function
# query), the accounts locked (SKIP LOCKED), the step due for each account not exempt (the last one reached;
# the earlier ones passed over), its status change saved and applied (the body), the episodes, the step runs;
# then the aging, in a transaction of its own. It assumes what the data set holds: no open episode yet, one
# status-change step, and overdue accounts the engine's rules let change (active, nothing pending); a reminder
# step only ever passed over.
COLLECTIONS = CHANGES_TABLES + """
CREATE TEMP TABLE od (account_id bigint, amount numeric, oldest date, days int) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE due_steps (account_id bigint, step_id bigint, name text, action text, status_type_id bigint,
  reason_id bigint, option text, rank bigint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE ep (id bigint, account_id bigint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE aged (backend_status text, bucket int, amount numeric);
DO $floor$
DECLARE _lo bigint; _hi bigint; _od bigint[]; {variables}
BEGIN
  SELECT coalesce(min(id), 1) - 1, coalesce(max(id), 0) INTO _lo, _hi FROM accounts_account;
  WHILE _lo < _hi LOOP
    -- The range's bounds as literals (EXECUTE), as the app sends them: planned for this range, not generically.
    EXECUTE format($q$INSERT INTO od
    WITH paid AS (
      SELECT account_id, sum(amount) AS amount FROM billing_payment
      WHERE paid_on <= date '{as_of}' AND account_id > %1$s AND account_id <= %2$s GROUP BY 1
    ), credited AS (
      SELECT account_id, -sum(total) AS amount FROM billing_invoice
      WHERE total < 0 AND issued_on <= date '{as_of}' AND account_id > %1$s AND account_id <= %2$s GROUP BY 1
    ), charged AS (
      SELECT account_id, total, due_on, sum(total) OVER (PARTITION BY account_id ORDER BY issued_on, id
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
      FROM billing_invoice
      WHERE total > 0 AND issued_on <= date '{as_of}' AND account_id > %1$s AND account_id <= %2$s
    ), unpaid AS (
      SELECT c.account_id, c.due_on, c.total, c.upto - coalesce(p.amount, 0) - coalesce(k.amount, 0) AS beyond
      FROM charged c LEFT JOIN paid p ON p.account_id = c.account_id
      LEFT JOIN credited k ON k.account_id = c.account_id
    )
    SELECT account_id, sum(least(total, beyond)), min(due_on), date '{as_of}' - min(due_on)
    FROM unpaid WHERE beyond > 0.005 AND due_on < date '{as_of}' GROUP BY account_id$q$, _lo, _lo + {chunk});
    ANALYZE od;
    SELECT array_agg(account_id ORDER BY account_id) INTO _od FROM od;
    PERFORM 1 FROM accounts_account WHERE id = ANY(_od) ORDER BY id FOR UPDATE SKIP LOCKED;
    INSERT INTO due_steps
    SELECT od.account_id, s.id, s.name, s.action, s.status_type_id, s.reason_id, s.option,
      row_number() OVER (PARTITION BY od.account_id ORDER BY s.position DESC, s.days_overdue DESC, s.id DESC)
    FROM od JOIN accounts_account a ON a.id = od.account_id AND a.id = ANY(_od)
      AND (a.collections_exempt_until IS NULL OR a.collections_exempt_until < date '{as_of}')
    JOIN dunning_collectionstep s ON s.days_overdue <= od.days AND s.min_amount <= od.amount;
    ANALYZE due_steps;
    WITH ins AS (
      INSERT INTO accounts_statuschange (account_id, from_type_id, to_type_id, option, effective_date, reason_id,
        note, state, failure_reason, source, created_at)
      SELECT d.account_id, a.status_type_id, d.status_type_id, d.option, date '{as_of}', d.reason_id, '', 'applied',
        '', left('collection step ' || d.name, 150), now()
      FROM due_steps d JOIN accounts_account a ON a.id = d.account_id AND a.id = ANY(_od)
      WHERE d.rank = 1 AND d.action = 'status_change' ORDER BY d.account_id
      RETURNING id, account_id, to_type_id, reason_id, effective_date
    ) INSERT INTO src SELECT * FROM ins;
{body}
    WITH ins AS (
      INSERT INTO dunning_collectionepisode (account_id, started_on, ended_on, type_before_id, moved_change_id,
        moved_by_id, outcome)
      SELECT od.account_id, date '{as_of}', NULL, ch.from_type, ch.id, CASE WHEN ch.id IS NOT NULL THEN d.step_id END,
        ''
      FROM od JOIN accounts_account a ON a.id = od.account_id AND a.id = ANY(_od)
        AND (a.collections_exempt_until IS NULL OR a.collections_exempt_until < date '{as_of}')
      LEFT JOIN ch ON ch.account_id = od.account_id
      LEFT JOIN due_steps d ON d.account_id = od.account_id AND d.rank = 1
      ORDER BY od.account_id
      RETURNING id, account_id
    ) INSERT INTO ep SELECT * FROM ins;
    ANALYZE ep;
    INSERT INTO dunning_steprun (episode_id, step_id, step_name, ran_on, outcome, change_id, message)
    SELECT ep.id, d.step_id, d.name, date '{as_of}',
      CASE WHEN d.rank > 1 THEN 'passed_over' WHEN d.action = 'reminder' THEN 'sent' ELSE 'applied' END,
      CASE WHEN d.rank = 1 THEN ch.id END, ''
    FROM due_steps d JOIN ep ON ep.account_id = d.account_id LEFT JOIN ch ON ch.account_id = d.account_id
    ORDER BY d.account_id, d.rank DESC;
    INSERT INTO aged
    SELECT t.backend_status, CASE WHEN od.days <= 30 THEN 1 WHEN od.days <= 60 THEN 2 WHEN od.days <= 90 THEN 3
      ELSE 4 END, od.amount
    FROM od JOIN accounts_account a ON a.id = od.account_id AND a.id = ANY(_od)
    JOIN statuses_accountstatustype t ON t.id = a.status_type_id;
    COMMIT;
    _lo := _lo + {chunk};
  END LOOP;
  DELETE FROM dunning_agingbucket WHERE as_of = date '{as_of}';
  INSERT INTO dunning_agingbucket (as_of, backend_status, bucket, accounts, amount)
  SELECT date '{as_of}', backend_status, bucket, count(*), sum(amount) FROM aged GROUP BY 2, 3 ORDER BY 2, 3;
  COMMIT;
END $floor$;
"""


def collections(as_of, chunks=CHUNKS) -> str:
    return fill(COLLECTIONS, as_of=as_of, chunk=chunks["collections"], body=changes_body(chunks),
                variables=BODY_VARIABLES)


# --- What both sides must have written alike -------------------------------------------------------------
# Every row a step writes, by content: ids of new rows differ between the two copies (and random keys, and
# wall-clock times), so a row that names another new row names it by its natural key — a change by its
# account, date, type and source; an invoice by its account, issue date and total; a bulk job by its request
# key — and a time only says whether it is set. Rows that existed before the step (accounts, packages, usage)
# keep their ids on both copies and are compared by id. Each checksum is "rows:md5" of the rows as text, in
# one order (`ROW(...)::text` tells NULL from '' and keeps jsonb as jsonb prints it: key order normalised).


def _change_key(alias: str) -> str:
    return f"ROW({alias}.account_id, {alias}.effective_date, {alias}.to_type_id, {alias}.source)::text"


def _digest(rows: str) -> str:
    return (f"SELECT count(*) || ':' || md5(coalesce(string_agg(r, ',' ORDER BY r COLLATE \"C\"), ''))"
            f" FROM ({rows}) x(r);")


CHECKSUMS = {
    "lines": f"""SELECT ROW(l.account_id, l.kind, l.amount, l.period_start, l.period_end, l.description,
      l.user_package_id, l.usage_record_id, {_change_key('c')}, ROW(i.account_id, i.issued_on, i.total)::text)::text
    FROM billing_chargeline l LEFT JOIN accounts_statuschange c ON c.id = l.status_change_id
    LEFT JOIN billing_invoice i ON i.id = l.invoice_id""",
    "invoices": """SELECT ROW(i.account_id, i.issued_on, i.due_on, i.total, coalesce(n.lines, 0))::text
    FROM billing_invoice i LEFT JOIN (SELECT invoice_id, count(*) AS lines FROM billing_chargeline GROUP BY 1) n
      ON n.invoice_id = i.id""",
    "packages": """SELECT ROW(id, account_id, package_id, price, quantity, start_date, next_bill_date, status)::text
    FROM billing_userpackage""",
    "usage": "SELECT ROW(id, account_id, amount, occurred_on, description, billed)::text FROM billing_usagerecord",
    "billing_failures": "SELECT ROW(account_id, as_of, error, resolved)::text FROM billing_billingfailure",
    "payments": """SELECT ROW(account_id, amount, paid_on, method, reference, reason, created_by_id,
      reverses_id IS NULL)::text FROM billing_payment""",
    "accounts": """SELECT ROW(id, number, name, email, bill_day, status_type_id, left_prospect_on, cancelled_on,
      version, collections_exempt_until, collections_exempt_note)::text FROM accounts_account""",
    # The accounts per type: the counter plus its deltas not folded yet (where the code appends deltas).
    "counters": """SELECT ROW(status_type_id, sum(n))::text FROM (
      SELECT status_type_id, count AS n FROM accounts_statustypecount {deltas}) x
    GROUP BY status_type_id HAVING sum(n) <> 0""",
    "switch": "SELECT ROW(account_id, state)::text FROM provisioning_switchentry",
    "jobs": """SELECT ROW(account_id, target, state, attempts, last_error, next_attempt_at IS NULL,
      leased_until IS NULL, finished_at IS NULL)::text FROM provisioning_provisioningjob""",
    "changes": """SELECT ROW(account_id, from_type_id, to_type_id, option, effective_date, reason_id, note, state,
      failure_reason, source, created_by_id, executed_by_id, executed_at IS NULL)::text FROM accounts_statuschange""",
    "audit": f"""SELECT ROW(e.action, e.object_type,
      CASE e.object_type WHEN 'status change' THEN {_change_key('c')} WHEN 'bulk status job' THEN j.request_key
        ELSE e.object_id::text END,
      CASE e.object_type WHEN 'bulk status job' THEN regexp_replace(e.object_repr, '#[0-9]+', '#')
        ELSE e.object_repr END,
      e.account_id, e.actor_id, e.actor_name, e.address, e.before, e.after)::text
    FROM engage_auditentry e
    LEFT JOIN accounts_statuschange c ON e.object_type = 'status change' AND c.id = e.object_id
    LEFT JOIN accounts_bulkstatusjob j ON e.object_type = 'bulk status job' AND j.id = e.object_id""",
    # A payload's change or job id by that row's natural key (a missing row shows as an empty key).
    "outbox": f"""SELECT ROW(m.kind, m.payload - 'change_id' - 'job_id', m.payload ? 'change_id', {_change_key('c')},
      m.payload ? 'job_id', j.request_key, m.handovers, m.failures, m.last_error, m.done_at IS NULL)::text
    FROM engage_outboxmessage m
    LEFT JOIN accounts_statuschange c ON m.payload ? 'change_id' AND c.id = (m.payload ->> 'change_id')::bigint
    LEFT JOIN accounts_bulkstatusjob j ON m.payload ? 'job_id' AND j.id = (m.payload ->> 'job_id')::bigint""",
    # Sums per key: the table may hold several rows per key (appended, folded later).
    "reason_rollup": """SELECT ROW(day, reason_id, backend_status, sum(count))::text FROM reporting_reasondaycount
    GROUP BY day, reason_id, backend_status HAVING sum(count) <> 0""",
    "bulk_jobs": """SELECT ROW(created_by_id, request_key, selection, selection_text, selection_params, collected,
      to_type_id, option, effective_date, reason_id, note, requested_on, state, total, checked, processed, dry_run,
      result, error, started_at IS NULL, finished_at IS NULL)::text FROM accounts_bulkstatusjob""",
    "bulk_items": """SELECT ROW(j.request_key, i.position, i.account_id, i.number, i.state, i.skip_code, i.message,
      i.checked_version)::text
    FROM accounts_bulkstatusitem i JOIN accounts_bulkstatusjob j ON j.id = i.job_id""",
    "episodes": f"""SELECT ROW(e.account_id, e.started_on, e.ended_on, e.outcome, e.type_before_id, e.moved_by_id,
      {_change_key('c')}, {_change_key('r')})::text
    FROM dunning_collectionepisode e LEFT JOIN accounts_statuschange c ON c.id = e.moved_change_id
    LEFT JOIN accounts_statuschange r ON r.id = e.restored_change_id""",
    "step_runs": f"""SELECT ROW(e.account_id, e.started_on, r.step_id, r.step_name, r.ran_on, r.outcome, r.message,
      {_change_key('c')})::text
    FROM dunning_steprun r JOIN dunning_collectionepisode e ON e.id = r.episode_id
    LEFT JOIN accounts_statuschange c ON c.id = r.change_id""",
    "aging": "SELECT ROW(as_of, backend_status, bucket, accounts, amount)::text FROM dunning_agingbucket",
}
CHECKSUM_NAMES = list(CHECKSUMS)
# Tables the code may not have (an older checkout, or one moving to append-only counters): (table, checksum).
OPTIONAL = {"reporting_reasondaycount": "reason_rollup", "accounts_bulkstatusjob": "bulk_jobs"}
DELTAS = "accounts_statustypecountdelta"


def checksum_sql(tables: set[str]) -> tuple[list[str], str]:
    """(names, one psql script printing a line per name) for a database holding `tables` (of OPTIONAL and
    DELTAS)."""
    names = [n for n in CHECKSUM_NAMES
             if all(t in tables for t, name in OPTIONAL.items() if name == n)
             and not (n == "bulk_items" and "accounts_bulkstatusjob" not in tables)]
    deltas = f"UNION ALL SELECT status_type_id, delta FROM {DELTAS}" if DELTAS in tables else ""
    return names, "\n".join(_digest(fill(CHECKSUMS[n], deltas=deltas)) for n in names)
