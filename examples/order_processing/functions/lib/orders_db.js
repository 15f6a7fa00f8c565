'use strict';
// The orders database from Node: the same SQLite file and schema.sql as the Python functions
// (orders_app/), in WAL mode with a busy timeout, because several function processes write
// to it at once. Writes go through `write(fn)`: one BEGIN IMMEDIATE transaction. A warm
// worker keeps its connection and its compiled statements between invocations (`sql`), as
// a Lambda function keeps its clients: compiling a statement costs more than running it.

const fs = require('fs');
const path = require('path');
const Database = require('better-sqlite3');
const { DatabaseBusy } = require('./errors');

const BUSY_TIMEOUT_MS = 10000;
// The application's folder, not the working directory: every function process must find
// the same default database wherever the runtime starts it.
const APP_DIR = path.resolve(__dirname, '..', '..');
const SCHEMA = path.join(APP_DIR, 'orders_app', 'schema.sql');

const open = new Map();
const statements = new WeakMap(); // connection -> Map(SQL text -> prepared statement)
let resolved = { key: null, file: null };

function dbPath() {
  // Read from the environment on every call (a process follows changes to it), resolved
  // once per value.
  const key = `${process.env.ORDERS_DATA_DIR || ''}\0${process.env.ORDERS_DB || ''}`;
  if (resolved.key !== key) {
    const dataDir = path.resolve(process.env.ORDERS_DATA_DIR || path.join(APP_DIR, '.orders-data'));
    const file = process.env.ORDERS_DB ? path.resolve(process.env.ORDERS_DB) : path.join(dataDir, 'orders.sqlite3');
    resolved = { key, file };
  }
  return resolved.file;
}

function busyAsError(fn) {
  try {
    return fn();
  } catch (err) {
    if (err && (err.code === 'SQLITE_BUSY' || err.code === 'SQLITE_LOCKED')) {
      throw new DatabaseBusy(`The orders database is busy: ${err.message}`);
    }
    throw err;
  }
}

/** The connection to the database named by the environment (created with its schema). */
function connect() {
  const file = dbPath();
  const kept = open.get(file);
  if (kept && fs.existsSync(file)) return kept;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  busyAsError(() => {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    // As the Python side (orders_app/db.py): in WAL mode, sync at checkpoints, not per commit.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.exec(fs.readFileSync(SCHEMA, 'utf8'));
  });
  open.set(file, db);
  return db;
}

/** The statement `text` of connection `db`, compiled on its first use. */
function sql(db, text) {
  let kept = statements.get(db);
  if (kept === undefined) {
    kept = new Map();
    statements.set(db, kept);
  }
  let statement = kept.get(text);
  if (statement === undefined) {
    statement = db.prepare(text);
    kept.set(text, statement);
  }
  return statement;
}

/** Run fn(db) in one write transaction that holds the write lock from its start. */
function write(fn) {
  const db = connect();
  return busyAsError(() => db.transaction(() => fn(db)).immediate());
}

/** The current UTC time as ISO 8601 with milliseconds (the Python functions write the same). */
function now() {
  return new Date().toISOString();
}

/** Cents as a dollar amount for people: 10050 -> "100.50". */
function dollars(cents) {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

module.exports = { connect, write, sql, now, dollars, dbPath };
