"""The floors: hand-written set-based SQL that writes the same rows as the app's pass, on an identical copy,
and the checksums that say whether it did. What the app writes beyond (the pass's own records) is left out."""

BILLING = """
BEGIN;
CREATE TEMP TABLE due ON COMMIT DROP AS
SELECT up.id, up.account_id, up.price * up.quantity AS amount, up.next_bill_date AS s,
       (up.next_bill_date + interval '1 month')::date AS e, p.name
FROM billing_userpackage up
JOIN billing_package p ON p.id = up.package_id
JOIN accounts_account a ON a.id = up.account_id
JOIN statuses_accountstatustype t ON t.id = a.status_type_id
WHERE up.status = 'active' AND up.next_bill_date <= date '{as_of}' AND t.backend_status = 'active';
CREATE TEMP TABLE used ON COMMIT DROP AS
SELECT r.id, r.account_id, r.amount, r.occurred_on, coalesce(nullif(r.description, ''), 'Usage') AS description
FROM billing_usagerecord r
JOIN accounts_account a ON a.id = r.account_id
JOIN statuses_accountstatustype t ON t.id = a.status_type_id
WHERE NOT r.billed AND r.occurred_on <= date '{as_of}' AND t.backend_status = 'active';
CREATE TEMP TABLE inv ON COMMIT DROP AS
WITH wanted AS (
  SELECT account_id, s AS day, sum(amount) AS total FROM due GROUP BY 1, 2
  UNION ALL SELECT account_id, occurred_on, sum(amount) FROM used GROUP BY 1, 2
), grouped AS (
  SELECT account_id, day, sum(total) AS total FROM wanted GROUP BY 1, 2
)
SELECT nextval(pg_get_serial_sequence('billing_invoice', 'id')) AS id, account_id, day, total FROM grouped;
INSERT INTO billing_invoice (id, account_id, created_at, issued_on, due_on, total)
SELECT id, account_id, now(), day, day + 14, total FROM inv;
INSERT INTO billing_chargeline (account_id, user_package_id, usage_record_id, status_change_id, kind, amount,
  period_start, period_end, description, invoice_id, created_at)
SELECT due.account_id, due.id, NULL::bigint, NULL::bigint, 'recurring', due.amount, due.s, due.e, due.name,
  inv.id, now()
FROM due JOIN inv ON inv.account_id = due.account_id AND inv.day = due.s
UNION ALL
SELECT used.account_id, NULL::bigint, used.id, NULL::bigint, 'usage', used.amount, used.occurred_on, used.occurred_on,
  used.description, inv.id, now()
FROM used JOIN inv ON inv.account_id = used.account_id AND inv.day = used.occurred_on;
UPDATE billing_userpackage up SET next_bill_date = due.e FROM due WHERE up.id = due.id;
UPDATE billing_usagerecord r SET billed = true FROM used WHERE r.id = used.id;
COMMIT;
"""

# Status changes of the same kind for many accounts: to one status type, prorated, dated `as_of`, with the
# account's packages billed through the period containing it (as after the billing pass). `{changes}` is the
# SQL that yields (change id, account id) rows: the pending changes that are due, or new rows (a bulk change).
CHANGES = """
BEGIN;
CREATE TEMP TABLE src (id bigint, account_id bigint, to_type_id bigint, reason_id bigint, effective_date date)
  ON COMMIT DROP;
{changes};
CREATE TEMP TABLE ch ON COMMIT DROP AS
SELECT c.id, c.account_id, c.to_type_id, c.reason_id, c.effective_date AS d, a.status_type_id AS from_type,
       t.backend_status AS to_backend
FROM src c
JOIN accounts_account a ON a.id = c.account_id
JOIN statuses_accountstatustype t ON t.id = c.to_type_id;
CREATE TEMP TABLE cr ON COMMIT DROP AS
SELECT up.id AS up_id, ch.account_id, ch.id AS change_id, ch.d, up.next_bill_date AS e,
       -round(up.price * up.quantity * (up.next_bill_date - ch.d)::numeric
              / (up.next_bill_date - (up.next_bill_date - interval '1 month')::date), 2) AS amount,
       p.name
FROM ch JOIN billing_userpackage up ON up.account_id = ch.account_id AND up.status = 'active'
  AND up.next_bill_date > ch.d AND up.start_date <= ch.d
JOIN billing_package p ON p.id = up.package_id;
CREATE TEMP TABLE inv ON COMMIT DROP AS
SELECT nextval(pg_get_serial_sequence('billing_invoice', 'id')) AS id, account_id, d, sum(amount) AS total
FROM cr GROUP BY account_id, d;
INSERT INTO billing_invoice (id, account_id, created_at, issued_on, due_on, total)
SELECT id, account_id, now(), d, d + 14, total FROM inv;
INSERT INTO billing_chargeline (account_id, user_package_id, usage_record_id, status_change_id, kind, amount,
  period_start, period_end, description, invoice_id, created_at)
SELECT cr.account_id, cr.up_id, NULL::bigint, cr.change_id, 'prorated_credit', cr.amount, cr.d, cr.e, cr.name,
  inv.id, now()
FROM cr JOIN inv ON inv.account_id = cr.account_id;
UPDATE billing_userpackage up SET next_bill_date = cr.d FROM cr WHERE up.id = cr.up_id;
UPDATE accounts_account a SET status_type_id = ch.to_type_id, cancelled_on = NULL, version = a.version + 1
FROM ch WHERE a.id = ch.account_id;
UPDATE accounts_statuschange c SET state = 'applied', from_type_id = ch.from_type, executed_at = now()
FROM ch WHERE c.id = ch.id;
UPDATE accounts_statustypecount n SET count = n.count + delta.n
FROM (SELECT type_id, sum(n) AS n FROM (SELECT from_type AS type_id, -1 AS n FROM ch
      UNION ALL SELECT to_type_id, 1 FROM ch) x GROUP BY 1) delta WHERE n.status_type_id = delta.type_id;
INSERT INTO engage_auditentry (at, actor_id, actor_name, address, action, object_type, object_id, object_repr,
  account_id, before, after)
SELECT now(), NULL, 'system', NULL, 'status_change', 'status change', ch.id, 'bench', ch.account_id,
  jsonb_build_object('status_type', 'Active'), jsonb_build_object('state', 'applied') FROM ch;
DO $$ BEGIN IF to_regclass('reporting_reasondaycount') IS NOT NULL THEN EXECUTE $sql$
INSERT INTO reporting_reasondaycount (day, reason_id, backend_status, count)
SELECT d, coalesce(reason_id, 0), to_backend, count(*) FROM ch GROUP BY 1, 2, 3
ON CONFLICT (day, reason_id, backend_status) DO UPDATE SET count = reporting_reasondaycount.count + excluded.count
$sql$; END IF; END $$;
INSERT INTO provisioning_provisioningjob (account_id, target, state, idempotency_key, attempts, last_error,
  created_at)
SELECT account_id, 'suspended', 'pending', gen_random_uuid(), 0, '', now() FROM ch;
INSERT INTO engage_outboxmessage (kind, payload, created_at, handovers, failures, last_error)
SELECT 'accounts.status_email', jsonb_build_object('change_id', id), now(), 0, 0, '' FROM ch;
COMMIT;
"""

DUE_CHANGES = "INSERT INTO src SELECT id, account_id, to_type_id, reason_id, effective_date " \
              "FROM accounts_statuschange WHERE state = 'pending' AND effective_date <= date '{as_of}'"

# A bulk suspension: the change rows are written first (as the job's run writes them), then applied.
BULK_INSERT = """
INSERT INTO accounts_statuschange (account_id, from_type_id, to_type_id, option, effective_date, reason_id,
  note, state, failure_reason, created_at)
SELECT a.id, a.status_type_id, (SELECT min(id) FROM statuses_accountstatustype WHERE backend_status = 'suspended'),
  'immediately_with_prorated_transaction', date '{as_of}', (SELECT id FROM statuses_statusreason
  WHERE name = 'Non-payment'), 'bench', 'pending', '', now()
FROM accounts_account a JOIN statuses_accountstatustype t ON t.id = a.status_type_id
WHERE t.backend_status = 'active' ORDER BY a.id LIMIT {n}
RETURNING id, account_id, to_type_id, reason_id, effective_date
"""
BULK_CHANGES = "WITH ins AS (" + BULK_INSERT + ") INSERT INTO src SELECT * FROM ins"

PROVISIONING = """
BEGIN;
CREATE TEMP TABLE newest ON COMMIT DROP AS
SELECT DISTINCT ON (account_id) id, account_id, target FROM provisioning_provisioningjob
WHERE state IN ('pending', 'failed') ORDER BY account_id, id DESC;
UPDATE provisioning_provisioningjob j SET state = 'superseded', finished_at = now()
WHERE j.state IN ('pending', 'failed') AND NOT EXISTS (SELECT 1 FROM newest n WHERE n.id = j.id);
DELETE FROM provisioning_switchentry s USING newest n WHERE s.account_id = n.account_id AND n.target = 'absent';
INSERT INTO provisioning_switchentry (account_id, state, updated_at)
SELECT account_id, target, now() FROM newest WHERE target <> 'absent'
ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at;
UPDATE provisioning_provisioningjob j SET state = 'done', finished_at = now(), attempts = attempts + 1
FROM newest n WHERE j.id = n.id;
COMMIT;
"""

# What both sides must have written alike (ids of new rows differ; their content does not).
CHECKSUMS = """
SELECT md5(coalesce(string_agg(concat_ws('|', account_id, kind, amount, period_start, period_end,
  coalesce(user_package_id, 0), coalesce(usage_record_id, 0)), ',' ORDER BY account_id, kind, period_start,
  coalesce(user_package_id, 0), coalesce(usage_record_id, 0)), '')) FROM billing_chargeline;
SELECT md5(coalesce(string_agg(concat_ws('|', account_id, issued_on, total), ','
  ORDER BY account_id, issued_on, total), '')) FROM billing_invoice;
SELECT md5(string_agg(concat_ws('|', id, next_bill_date), ',' ORDER BY id)) FROM billing_userpackage;
SELECT md5(string_agg(concat_ws('|', id, billed), ',' ORDER BY id)) FROM billing_usagerecord;
SELECT md5(string_agg(concat_ws('|', id, status_type_id, cancelled_on), ',' ORDER BY id))
  FROM accounts_account;
SELECT md5(string_agg(concat_ws('|', status_type_id, count), ',' ORDER BY status_type_id))
  FROM accounts_statustypecount;
SELECT md5(coalesce(string_agg(concat_ws('|', account_id, state), ',' ORDER BY account_id), ''))
  FROM provisioning_switchentry;
SELECT count(*) FROM provisioning_provisioningjob WHERE state = 'pending';
"""
CHECKSUM_NAMES = ["lines", "invoices", "next_bill_dates", "usage_billed", "account_statuses", "counters",
                  "switch", "pending_jobs"]
