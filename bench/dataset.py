"""The data set, built in SQL (generate_series): BENCH_ACCOUNTS accounts, 70 % active and 10 % each of
suspended, cancelled and prospect; one or two packages each, due once on the as-of day; unbilled usage
for a tenth; and history in proportion: a quarter of the accounts with an applied change in the last 90
days, 5 % with a pending one, 89 daily snapshots, the switch in its desired state (no drift)."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from .sql import MARKER, copy, drop, psql, refuse_real_database, url

ROOT = Path(__file__).resolve().parents[1]


def django_env(db: str) -> dict:
    """The app measured as it runs in production: what a pass hands to workers (e-mails, provisioning) is
    written and handed over, not done inline. No worker listens here: the broker address refuses at once, so
    a hand-over costs nothing and the rows wait for the relay, as they would for a worker."""
    # BENCH_PROFILE is not passed on: a timed run is never profiled (profile_into asks for a profile itself).
    env = {k: v for k, v in os.environ.items() if k != "BENCH_PROFILE"}
    return {**env, "DATABASE_URL": url(db), "DJANGO_DEBUG": "false", "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_BROKER_URL": "redis://127.0.0.1:1/0", "ENGAGE_API_RATE": "1000000/minute"}


def build_pair(prefix: str, accounts: int, as_of: date) -> list[str]:
    """[full-size template, 1,000-account template, the empty migrated schema they were made from]."""
    schema, full, small = f"{prefix}_schema", f"{prefix}_full", f"{prefix}_small"
    for db in (schema, full, small):
        refuse_real_database(db)
    drop(schema)
    psql(f'CREATE DATABASE "{schema}"')
    psql(f"CREATE TABLE {MARKER} (made_at timestamptz DEFAULT now())", schema)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=django_env(schema),
                   check=True)
    for db, n in ((full, accounts), (small, min(1000, accounts))):
        copy(schema, db)
        psql(DATASET.format(n=n, as_of=as_of.isoformat()), db)
    return [full, small, schema]


DATASET = """
SET synchronous_commit = off;
INSERT INTO billing_package (name, price) VALUES ('Fibre 100', 29.99), ('Fibre 500', 49.99), ('TV', 12.50),
  ('Static IP', 5.00) ON CONFLICT DO NOTHING;
CREATE TEMP TABLE types AS SELECT backend_status, min(id) AS id FROM statuses_accountstatustype GROUP BY 1;
CREATE TEMP TABLE first_names(i int, name text);
INSERT INTO first_names VALUES (0,'Homer'),(1,'Ada'),(2,'Grace'),(3,'Alan'),(4,'Edsger'),(5,'Barbara'),
  (6,'Omer'),(7,'Linus'),(8,'Margaret'),(9,'Donald'),(10,'Frances'),(11,'Ken'),(12,'Radia'),(13,'Dennis'),
  (14,'Katherine'),(15,'Niklaus'),(16,'Sophie'),(17,'Tim'),(18,'Hedy'),(19,'John');
INSERT INTO accounts_account (number, name, email, bill_day, status_type_id, created_at, version, cancelled_on,
  collections_exempt_note)
SELECT lpad(g::text, 8, '0'),
       f.name || ' ' || (ARRAY['Smith','Jones','Taylor','Brown','Wilson','Evans','Thomas','Roberts','Walker',
         'Wright','Hopper','Lovelace','Turing','Dijkstra','Liskov','Knuth'])[1 + (g * 7) % 16] || ' ' || (g % 97),
       'c' || g || '@example.com',
       1 + g % 28,
       (SELECT id FROM types WHERE backend_status = CASE WHEN g % 10 < 7 THEN 'active' WHEN g % 10 = 7 THEN
         'suspended' WHEN g % 10 = 8 THEN 'cancelled' ELSE 'prospect' END),
       timestamptz '{as_of}' - (g % 700) * interval '1 day', 1,
       CASE WHEN g % 10 = 8 THEN date '{as_of}' - 30 END, ''
FROM generate_series(1, {n}) g JOIN first_names f ON f.i = (g * 13) % 20
-- In g's order: ids follow numbers, as the app assigns them, and names are spread over ids (the join alone
-- returns them grouped by first name, which put every Homer among the oldest ids).
ORDER BY g;
-- A rare name: one in ten thousand.
UPDATE accounts_account SET name = 'Zebulon Quist ' || id WHERE id % 10000 = 7;
UPDATE accounts_account SET left_prospect_on = date '{as_of}' - 400
  WHERE status_type_id <> (SELECT id FROM types WHERE backend_status = 'prospect');
-- Packages: one or two each, the period starting on the latest bill day on or before the as-of day is due.
INSERT INTO billing_userpackage (account_id, package_id, price, quantity, start_date, next_bill_date, status)
SELECT a.id, p.id, p.price, 1, date '{as_of}' - 400,
       CASE WHEN a.bill_day <= extract(day FROM date '{as_of}')
            THEN make_date(extract(year FROM date '{as_of}')::int, extract(month FROM date '{as_of}')::int, a.bill_day)
            ELSE (make_date(extract(year FROM date '{as_of}')::int, extract(month FROM date '{as_of}')::int, a.bill_day)
                  - interval '1 month')::date END,
       'active'
FROM accounts_account a
CROSS JOIN LATERAL (SELECT id, price FROM billing_package ORDER BY id LIMIT 1 + a.id % 2 OFFSET a.id % 3) p;
INSERT INTO billing_usagerecord (account_id, amount, occurred_on, description, billed)
SELECT id, 1.25 + (id % 7), date '{as_of}' - 3, 'Calls', false FROM accounts_account WHERE id % 10 = 0;
-- History: a quarter of the accounts changed status in the last 90 days; 5 % have a pending change.
INSERT INTO accounts_statuschange (account_id, from_type_id, to_type_id, option, effective_date, reason_id,
  note, state, failure_reason, source, created_at, executed_at)
SELECT a.id, (SELECT id FROM types WHERE backend_status = 'active'), a.status_type_id,
  'immediately_with_no_transaction', date '{as_of}' - (a.id % 90)::int,
  CASE WHEN a.id % 3 = 0 THEN NULL ELSE (SELECT min(id) FROM statuses_statusreason) END, '', 'applied', '', '',
  timestamptz '{as_of}' - (a.id % 90) * interval '1 day', timestamptz '{as_of}' - (a.id % 90) * interval '1 day'
FROM accounts_account a WHERE a.id % 4 = 1;
INSERT INTO accounts_statuschange (account_id, from_type_id, to_type_id, option, effective_date, reason_id,
  note, state, failure_reason, source, created_at)
SELECT a.id, a.status_type_id, (SELECT id FROM types WHERE backend_status = 'active'), 'specific_date',
  date '{as_of}' + 1 + (a.id % 30)::int, NULL, '', 'pending', '', '', now()
FROM accounts_account a JOIN types t ON t.id = a.status_type_id
WHERE a.id % 20 = 3 AND t.backend_status IN ('suspended', 'cancelled');
-- The per-reason roll-up of the statistics page, where the code has one.
DO $$ BEGIN IF to_regclass('reporting_reasondaycount') IS NOT NULL THEN EXECUTE $sql$
INSERT INTO reporting_reasondaycount (day, reason_id, backend_status, count)
SELECT c.effective_date, coalesce(c.reason_id, 0), t.backend_status, count(*)
FROM accounts_statuschange c JOIN statuses_accountstatustype t ON t.id = c.to_type_id
WHERE c.state = 'applied' GROUP BY 1, 2, 3 $sql$; END IF; END $$;
INSERT INTO accounts_statustypecount (status_type_id, count)
SELECT status_type_id, count(*) FROM accounts_account GROUP BY 1
ON CONFLICT (status_type_id) DO UPDATE SET count = excluded.count;
INSERT INTO accounts_statisticssnapshot (day, status_type_id, backend_status, count)
SELECT date '{as_of}' - d, t.id, t.backend_status, c.count
FROM generate_series(1, 89) d CROSS JOIN statuses_accountstatustype t
JOIN accounts_statustypecount c ON c.status_type_id = t.id;
-- The switch as it should be: no drift.
INSERT INTO provisioning_switchentry (account_id, state, updated_at)
SELECT a.id, CASE t.backend_status WHEN 'active' THEN 'enabled' ELSE 'suspended' END, now()
FROM accounts_account a JOIN statuses_accountstatustype t ON t.id = a.status_type_id
WHERE t.backend_status IN ('active', 'suspended');
VACUUM ANALYZE;
"""
