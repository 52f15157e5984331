-- Notice and action (packages/cases): roles, authorities' keys, the case queue with its legal clocks,
-- notices, removal orders, decisions, statements of reasons, appeals, notifications, evidence,
-- crisis incidents, and the audit trail of every step.

CREATE TABLE case_roles (
  username TEXT NOT NULL,
  role TEXT NOT NULL,
  organisation TEXT NOT NULL,
  granted_by TEXT NOT NULL,
  granted_at BIGINT NOT NULL,
  PRIMARY KEY (username, role)
);

-- A competent authority (TCO Art. 12) and the Ed25519 key its removal orders are signed with.
CREATE TABLE case_authorities (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  member_state TEXT NOT NULL,
  public_key {{blob}} NOT NULL,
  contact TEXT NOT NULL,
  registered_by TEXT NOT NULL,
  registered_at BIGINT NOT NULL,
  revoked_at BIGINT
);

-- Nonces of signed authority requests, kept past their freshness window so a replay is refused.
CREATE TABLE case_nonces (
  nonce TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);

-- Operator settings (targets where the law sets no number), JSON by name.
CREATE TABLE case_settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE cases (
  id {{serial}},
  source TEXT NOT NULL,
  legal_basis TEXT NOT NULL,
  priority INTEGER NOT NULL,
  content_kind TEXT NOT NULL,
  content_id TEXT NOT NULL,
  content_url TEXT NOT NULL,
  content_owner TEXT,
  category TEXT NOT NULL,
  summary TEXT NOT NULL,
  -- open | claimed | decided
  state TEXT NOT NULL,
  assignee TEXT,
  claimed_until BIGINT,
  version INTEGER NOT NULL,
  received_at BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  escalate_at BIGINT NOT NULL,
  escalated_at BIGINT,
  overdue_at BIGINT,
  decided_at BIGINT,
  decision_id BIGINT,
  incident_id BIGINT,
  -- the removal order this case carries out (one case per URL of the order)
  order_id BIGINT,
  -- bank signals that matched (held and blocked uploads): [{bank, signalId, distance, labels}]
  matches TEXT NOT NULL,
  -- what the upload pipeline stored about it (its decision id), for the console
  pipeline_ref TEXT,
  -- one case per removal order, held upload, report…: a retried intake finds the first
  dedupe_key TEXT UNIQUE
);
CREATE INDEX cases_queue ON cases (state, due_at);
CREATE INDEX cases_content ON cases (content_kind, content_id, state);
CREATE INDEX cases_received ON cases (received_at);
CREATE INDEX cases_order ON cases (order_id);

CREATE TABLE case_notices (
  id {{serial}},
  case_id BIGINT NOT NULL,
  -- article16 | trusted_flagger | franked_report
  kind TEXT NOT NULL,
  notifier_name TEXT,
  notifier_email TEXT,
  notifier_account TEXT,
  organisation TEXT,
  explanation TEXT NOT NULL,
  url TEXT NOT NULL,
  law TEXT NOT NULL,
  category TEXT NOT NULL,
  bona_fide INTEGER NOT NULL,
  -- SHA-256 of the receipt token the notifier follows the notice with
  receipt_hash {{blob}},
  report_id BIGINT,
  received_at BIGINT NOT NULL
);
CREATE INDEX case_notices_case ON case_notices (case_id);
CREATE INDEX case_notices_received ON case_notices (received_at);

-- TCO removal orders (Annex I), kept with the exact signed bytes.
CREATE TABLE removal_orders (
  id {{serial}},
  authority_id TEXT NOT NULL,
  reference TEXT NOT NULL,
  member_state TEXT NOT NULL,
  issued_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  document TEXT NOT NULL,
  signature TEXT NOT NULL,
  disclosure_delayed_until BIGINT,
  UNIQUE (authority_id, reference)
);
CREATE INDEX removal_orders_received ON removal_orders (received_at);

CREATE TABLE case_decisions (
  id {{serial}},
  case_id BIGINT NOT NULL,
  source TEXT NOT NULL,
  legal_basis TEXT NOT NULL,
  decided_by TEXT NOT NULL,
  decided_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  -- JSON array of restrictions (content.ts Restriction); empty for "no action"
  actions TEXT NOT NULL,
  -- bit per restriction kind, for reports over millions of rows (decisions.ts RESTRICTION_BITS)
  restriction_mask INTEGER NOT NULL,
  -- illegal | incompatible | none
  ground TEXT NOT NULL,
  legal_ground TEXT,
  terms_ground TEXT,
  explanation TEXT NOT NULL,
  also_illegal INTEGER NOT NULL,
  -- the facts and circumstances relied on (DSA Art. 17(3)(b))
  facts TEXT NOT NULL,
  -- TCO Annex III: why a removal order could not be complied with (force_majeure | manifest_error | insufficient_information)
  cannot_comply TEXT,
  category TEXT NOT NULL,
  keywords TEXT NOT NULL,
  territorial_scope TEXT NOT NULL,
  automated_detection INTEGER NOT NULL,
  automated_decision TEXT NOT NULL,
  content_owner TEXT,
  signals TEXT NOT NULL,
  applied_at BIGINT,
  reversed_at BIGINT,
  reversed_by_appeal BIGINT,
  -- when a reversal's reinstatement went through (retried until it does)
  lifted_at BIGINT
);
CREATE INDEX case_decisions_time ON case_decisions (decided_at);
CREATE INDEX case_decisions_case ON case_decisions (case_id);
CREATE INDEX case_decisions_unapplied ON case_decisions (applied_at, id);

CREATE TABLE statements_of_reasons (
  id {{serial}},
  decision_id BIGINT NOT NULL UNIQUE,
  puid TEXT NOT NULL UNIQUE,
  recipient TEXT,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  -- a removal order may delay telling the uploader (TCO Art. 11(3))
  disclose_at BIGINT NOT NULL,
  told_at BIGINT,
  -- the statement lies outside the Transparency Database (no EU/EEA scope)
  tdb_applicable INTEGER NOT NULL,
  exported_at BIGINT,
  export_batch TEXT
);
CREATE INDEX statements_recipient ON statements_of_reasons (recipient, id);
CREATE INDEX statements_export ON statements_of_reasons (exported_at, id);

CREATE TABLE case_appeals (
  id {{serial}},
  decision_id BIGINT NOT NULL,
  case_id BIGINT NOT NULL,
  -- uploader | notifier
  complainant_kind TEXT NOT NULL,
  complainant TEXT NOT NULL,
  grounds TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  -- open | claimed | decided
  state TEXT NOT NULL,
  assignee TEXT,
  claimed_until BIGINT,
  version INTEGER NOT NULL,
  decided_by TEXT,
  decided_at BIGINT,
  -- upheld | reversed
  outcome TEXT,
  reasons TEXT,
  UNIQUE (decision_id, complainant_kind, complainant)
);
CREATE INDEX case_appeals_queue ON case_appeals (state, due_at);
CREATE INDEX case_appeals_received ON case_appeals (received_at);

-- What the people involved are told: account:<username> or notice:<id>.
CREATE TABLE case_notifications (
  id {{serial}},
  recipient TEXT NOT NULL,
  case_id BIGINT,
  kind TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX case_notifications_recipient ON case_notifications (recipient, id);

-- Every step, by whom and when: the audit trail and the console's feed.
CREATE TABLE case_events (
  id {{serial}},
  case_id BIGINT,
  appeal_id BIGINT,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  event TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, id);

-- Preserved evidence (TCO Art. 6): encrypted, purged when the period ends.
CREATE TABLE case_evidence (
  id {{serial}},
  case_id BIGINT NOT NULL,
  decision_id BIGINT,
  content_kind TEXT NOT NULL,
  content_id TEXT NOT NULL,
  preserved_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  extended_by TEXT,
  nonce {{blob}},
  ciphertext {{blob}},
  purged_at BIGINT
);
CREATE INDEX case_evidence_expiry ON case_evidence (purged_at, expires_at);

CREATE TABLE crisis_incidents (
  id {{serial}},
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  bank TEXT NOT NULL,
  radius INTEGER NOT NULL,
  declared_by TEXT NOT NULL,
  declared_at BIGINT NOT NULL,
  closed_by TEXT,
  closed_at BIGINT,
  debrief TEXT
);
