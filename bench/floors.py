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
CHANGES_BODY = """
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
"""
CHANGES = "BEGIN;" + CHANGES_BODY + "COMMIT;\n"

DUE_CHANGES = "INSERT INTO src SELECT id, account_id, to_type_id, reason_id, effective_date " \
              "FROM accounts_statuschange WHERE state = 'pending' AND effective_date <= date '{as_of}'"

# A bulk suspension: the change rows are written first (as the job's run writes them), then applied.
BULK_INSERT = """
INSERT INTO accounts_statuschange (account_id, from_type_id, to_type_id, option, effective_date, reason_id,
  note, state, failure_reason, source, created_at)
SELECT a.id, a.status_type_id, (SELECT min(id) FROM statuses_accountstatustype WHERE backend_status = 'suspended'),
  'immediately_with_prorated_transaction', date '{as_of}', (SELECT id FROM statuses_statusreason
  WHERE name = 'Non-payment'), 'bench', 'pending', '', '', now()
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
VALUES ('Reminder after 7 days', 1, 7, 0, 'reminder', NULL, NULL, '', NULL, 'Account {{number}}: a payment is overdue',
  'Dear {{name}}, {{overdue_amount}} has been overdue for {{overdue_days}} days (since {{oldest_due_on}}).'),
  ('Suspend after 14 days', 2, 14, 0, 'status_change',
  (SELECT min(id) FROM statuses_accountstatustype WHERE backend_status = 'suspended'),
  (SELECT id FROM statuses_statusreason WHERE name = 'Non-payment'), 'immediately_with_prorated_transaction', NULL,
  '', '');
VACUUM ANALYZE;
"""

# The collections pass for one day, set-based: what is overdue (the allocation of billing.overdue, for every
# account in one window-function query), the step due for each account not exempt (the last one reached; the
# earlier ones passed over), its status change through step 2a's floor, the episodes, the step runs and the
# aging. It assumes what the data set holds: no open episode yet, one status-change step, and overdue accounts
# the engine's rules let change (active, nothing pending); a reminder step only ever passed over.
COLLECTIONS_OVERDUE = """
CREATE TEMP TABLE od ON COMMIT DROP AS
WITH paid AS (
  SELECT account_id, sum(amount) AS amount FROM billing_payment WHERE paid_on <= date '{as_of}' GROUP BY 1
), credited AS (
  SELECT account_id, -sum(total) AS amount FROM billing_invoice
  WHERE total < 0 AND issued_on <= date '{as_of}' GROUP BY 1
), charged AS (
  SELECT account_id, total, due_on, sum(total) OVER (PARTITION BY account_id ORDER BY issued_on, id
    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
  FROM billing_invoice WHERE total > 0 AND issued_on <= date '{as_of}'
), unpaid AS (
  SELECT c.account_id, c.due_on, c.total, c.upto - coalesce(p.amount, 0) - coalesce(k.amount, 0) AS beyond
  FROM charged c LEFT JOIN paid p ON p.account_id = c.account_id LEFT JOIN credited k ON k.account_id = c.account_id
)
SELECT account_id, sum(least(total, beyond)) AS amount, min(due_on) AS oldest, date '{as_of}' - min(due_on) AS days
FROM unpaid WHERE beyond > 0.005 AND due_on < date '{as_of}' GROUP BY account_id;
CREATE TEMP TABLE due_steps ON COMMIT DROP AS
SELECT od.account_id, s.id AS step_id, s.name, s.action, s.status_type_id, s.reason_id, s.option,
  row_number() OVER (PARTITION BY od.account_id ORDER BY s.position DESC, s.days_overdue DESC, s.id DESC) AS rank
FROM od JOIN accounts_account a ON a.id = od.account_id
  AND (a.collections_exempt_until IS NULL OR a.collections_exempt_until < date '{as_of}')
JOIN dunning_collectionstep s ON s.days_overdue <= od.days AND s.min_amount <= od.amount;
"""
COLLECTIONS_CHANGES = """
WITH ins AS (
  INSERT INTO accounts_statuschange (account_id, from_type_id, to_type_id, option, effective_date, reason_id, note,
    state, failure_reason, source, created_at)
  SELECT d.account_id, a.status_type_id, d.status_type_id, d.option, date '{as_of}', d.reason_id, '', 'applied', '',
    left('collection step ' || d.name, 150), now()
  FROM due_steps d JOIN accounts_account a ON a.id = d.account_id
  WHERE d.rank = 1 AND d.action = 'status_change' ORDER BY d.account_id
  RETURNING id, account_id, to_type_id, reason_id, effective_date
) INSERT INTO src SELECT * FROM ins
"""
COLLECTIONS_AFTER = """
CREATE TEMP TABLE ep (id bigint, account_id bigint) ON COMMIT DROP;
WITH ins AS (
  INSERT INTO dunning_collectionepisode (account_id, started_on, ended_on, type_before_id, moved_change_id,
    moved_by_id, outcome)
  SELECT od.account_id, date '{as_of}', NULL, ch.from_type, ch.id, CASE WHEN ch.id IS NOT NULL THEN d.step_id END, ''
  FROM od JOIN accounts_account a ON a.id = od.account_id
    AND (a.collections_exempt_until IS NULL OR a.collections_exempt_until < date '{as_of}')
  LEFT JOIN ch ON ch.account_id = od.account_id
  LEFT JOIN due_steps d ON d.account_id = od.account_id AND d.rank = 1
  ORDER BY od.account_id
  RETURNING id, account_id
) INSERT INTO ep SELECT * FROM ins;
INSERT INTO dunning_steprun (episode_id, step_id, step_name, ran_on, outcome, change_id, message)
SELECT ep.id, d.step_id, d.name, date '{as_of}',
  CASE WHEN d.rank > 1 THEN 'passed_over' WHEN d.action = 'reminder' THEN 'sent' ELSE 'applied' END,
  CASE WHEN d.rank = 1 THEN ch.id END, ''
FROM due_steps d JOIN ep ON ep.account_id = d.account_id LEFT JOIN ch ON ch.account_id = d.account_id
ORDER BY d.account_id, d.rank DESC;
INSERT INTO dunning_agingbucket (as_of, backend_status, bucket, accounts, amount)
SELECT date '{as_of}', t.backend_status,
  CASE WHEN od.days <= 30 THEN 1 WHEN od.days <= 60 THEN 2 WHEN od.days <= 90 THEN 3 ELSE 4 END,
  count(*), sum(od.amount)
FROM od JOIN accounts_account a ON a.id = od.account_id JOIN statuses_accountstatustype t ON t.id = a.status_type_id
GROUP BY 1, 2, 3;
"""


def collections(as_of) -> str:
    return ("BEGIN;" + COLLECTIONS_OVERDUE.format(as_of=as_of)
            + CHANGES_BODY.format(changes=COLLECTIONS_CHANGES.format(as_of=as_of))
            + COLLECTIONS_AFTER.format(as_of=as_of) + "COMMIT;\n")


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

# The collections pass beside its floor also compares what it writes beyond step 2a's rows: the change rows
# (without ids and times), the episodes and step runs (by account, the change they name by its account), the
# aging, the account versions, the outbox rows per kind, and the per-reason roll-up where the code has one.
COLLECTIONS_CHECKSUMS = """
SELECT md5(coalesce(string_agg(concat_ws('|', account_id, from_type_id, to_type_id, option, effective_date,
  coalesce(reason_id, 0), note, state, failure_reason, source, coalesce(created_by_id, 0)), ','
  ORDER BY account_id, effective_date, source), '')) FROM accounts_statuschange WHERE source <> '';
SELECT md5(coalesce(string_agg(concat_ws('|', e.account_id, e.started_on, coalesce(e.ended_on::text, '-'),
  coalesce(e.type_before_id, 0), coalesce(e.moved_by_id, 0), coalesce(c.account_id, 0), coalesce(c.source, '-'),
  coalesce(e.restored_change_id, 0), e.outcome), ',' ORDER BY e.account_id, e.started_on), ''))
FROM dunning_collectionepisode e LEFT JOIN accounts_statuschange c ON c.id = e.moved_change_id;
SELECT md5(coalesce(string_agg(concat_ws('|', e.account_id, coalesce(r.step_id, 0), r.step_name, r.ran_on, r.outcome,
  coalesce(c.account_id, 0), coalesce(c.source, '-'), r.message), ',' ORDER BY e.account_id, r.step_id), ''))
FROM dunning_steprun r JOIN dunning_collectionepisode e ON e.id = r.episode_id
LEFT JOIN accounts_statuschange c ON c.id = r.change_id;
SELECT coalesce(string_agg(concat_ws('|', as_of, backend_status, bucket, accounts, amount), ','
  ORDER BY as_of, backend_status, bucket), '') FROM dunning_agingbucket;
SELECT md5(string_agg(concat_ws('|', id, version), ',' ORDER BY id)) FROM accounts_account;
SELECT coalesce(string_agg(kind || ':' || n, ',' ORDER BY kind), '')
  FROM (SELECT kind, count(*) AS n FROM engage_outboxmessage GROUP BY 1) x;
SELECT coalesce(string_agg(target || ':' || state || ':' || n, ',' ORDER BY target, state), '')
  FROM (SELECT target, state, count(*) AS n FROM provisioning_provisioningjob GROUP BY 1, 2) x;
"""
COLLECTIONS_CHECKSUM_NAMES = ["collection_changes", "episodes", "step_runs", "aging", "account_versions",
                              "outbox_per_kind", "jobs_per_state"]
REASON_DAYS = """SELECT md5(coalesce(string_agg(concat_ws('|', day, reason_id, backend_status, count), ','
  ORDER BY day, reason_id, backend_status), '')) FROM reporting_reasondaycount"""
