-- The Order Processing System's own database: one file, shared by every function process
-- (Node and Python alike). Applied on every open, so it is idempotent: tables are created
-- when missing and the catalogue seed never overwrites stock that has moved since.
-- Money is in integer cents everywhere; only the functions' inputs and outputs use dollars.

CREATE TABLE IF NOT EXISTS catalogue (
    item_id     TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    stock       INTEGER NOT NULL CHECK (stock >= 0)
);

-- stock_state tells the compensating ReleaseStock what is still held for the order:
-- 'reserved' (taken from the catalogue), 'released' (given back) or 'shipped' (picked).
CREATE TABLE IF NOT EXISTS orders (
    order_id         TEXT PRIMARY KEY,
    email            TEXT NOT NULL,
    shipping_address TEXT NOT NULL,
    amount_cents     INTEGER NOT NULL CHECK (amount_cents >= 0),
    status           TEXT NOT NULL CHECK (status IN
                       ('VALIDATED', 'PAID', 'SHIPPING', 'COMPLETED', 'CANCELLED')),
    stock_state      TEXT NOT NULL CHECK (stock_state IN ('reserved', 'released', 'shipped')),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS order_items (
    order_id         TEXT NOT NULL REFERENCES orders (order_id),
    line             INTEGER NOT NULL,
    item_id          TEXT NOT NULL REFERENCES catalogue (item_id),
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_cents INTEGER NOT NULL,
    PRIMARY KEY (order_id, item_id)
);

-- The ledger: the order id is the idempotency key, so a retried or re-run payment finds
-- the first charge instead of making a second one.
CREATE TABLE IF NOT EXISTS payments (
    payment_id   TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL UNIQUE REFERENCES orders (order_id),
    amount_cents INTEGER NOT NULL,
    card_last4   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('CHARGED')),
    charged_at   TEXT NOT NULL
);

-- Every call to the (simulated) gateway, charged or not: the test cards that fail
-- transiently count their earlier failures here.
CREATE TABLE IF NOT EXISTS payment_attempts (
    attempt_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id     TEXT NOT NULL,
    card_last4   TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN
                   ('charged', 'replayed', 'declined', 'gateway_unavailable')),
    attempted_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payment_attempts_by_order ON payment_attempts (order_id);

CREATE TABLE IF NOT EXISTS shipping_labels (
    label_id         TEXT PRIMARY KEY,
    order_id         TEXT NOT NULL UNIQUE REFERENCES orders (order_id),
    carrier          TEXT NOT NULL,
    tracking_number  TEXT NOT NULL UNIQUE,
    shipping_address TEXT NOT NULL,
    created_at       TEXT NOT NULL
);

-- The warehouse's queue: one pick list per order, read by the people who pack it.
CREATE TABLE IF NOT EXISTS warehouse_queue (
    pick_list_id TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL UNIQUE REFERENCES orders (order_id),
    label_id     TEXT NOT NULL REFERENCES shipping_labels (label_id),
    lines_json   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('QUEUED', 'CANCELLED')),
    queued_at    TEXT NOT NULL
);

-- Confirmation emails sent, so a retried NotifyCustomer does not mail the customer twice.
CREATE TABLE IF NOT EXISTS emails (
    order_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    message_id TEXT NOT NULL,
    delivery   TEXT NOT NULL,
    sent_at    TEXT NOT NULL,
    PRIMARY KEY (order_id, kind)
);

CREATE TABLE IF NOT EXISTS error_log (
    error_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_arn TEXT,
    order_id      TEXT,
    state         TEXT NOT NULL,
    error         TEXT NOT NULL,
    cause         TEXT NOT NULL,
    logged_at     TEXT NOT NULL,
    UNIQUE (execution_arn, state, error)
);

-- The seed: the seed document's example order (2 x item1 + 1 x item2 = 100.50) is valid;
-- item3 is sold out and item4 has one left, for the out-of-stock paths.
INSERT OR IGNORE INTO catalogue (item_id, name, price_cents, stock) VALUES
    ('item1', 'Widget', 2500, 100000),
    ('item2', 'Gadget', 5050, 100000),
    ('item3', 'Sold-out gizmo', 1299, 0),
    ('item4', 'Limited edition print', 19900, 1);
