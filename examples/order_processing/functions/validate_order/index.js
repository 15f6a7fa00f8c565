'use strict';
// ValidateOrder: checks an order's fields and types, prices it from the catalogue, reserves
// its stock and records it. Every problem with the order's own fields is listed in one
// OrderValidationError; unknown items and a wrong amount are OrderValidationErrors too;
// not enough stock is an OutOfStockError. Nothing is reserved unless everything holds.
//
// Running it again for an order already recorded with the same contents is harmless: the
// stock stays reserved once (or is reserved again if a failed run released it).

const { write, sql, now, dollars } = require('../lib/orders_db');
const { OrderValidationError, OutOfStockError } = require('../lib/errors');

const DEFAULT_CARD = '4242424242424242';
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function luhnValid(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The problems with the order's own fields (no database needed), as sentences. */
function fieldProblems(order) {
  const problems = [];
  const { order_id: id, items, amount, email, shipping_address: address, payment } = order;
  if (typeof id !== 'string' || id.trim() === '') {
    problems.push(`order_id must be a non-empty string (got ${describe(id)})`);
  }
  if (!Array.isArray(items) || items.length === 0) {
    problems.push(`items must be a non-empty list (got ${items === undefined ? 'nothing' : describe(items)})`);
  } else {
    const seen = new Set();
    items.forEach((item, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        problems.push(`items[${i}] must be an object with item_id and quantity (got ${describe(item)})`);
        return;
      }
      if (typeof item.item_id !== 'string' || item.item_id === '') {
        problems.push(`items[${i}].item_id must be a non-empty string (got ${describe(item.item_id)})`);
      } else if (seen.has(item.item_id)) {
        problems.push(`items[${i}]: ${item.item_id} is listed twice; list each item once with its total quantity`);
      } else {
        seen.add(item.item_id);
      }
      if (!Number.isInteger(item.quantity) || item.quantity <= 0) {
        problems.push(`items[${i}].quantity must be a positive whole number (got ${describe(item.quantity)})`);
      }
    });
  }
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) {
    problems.push(`amount must be a non-negative number of dollars (got ${describe(amount)})`);
  } else if (Math.abs(amount * 100 - Math.round(amount * 100)) > 1e-6) {
    problems.push(`amount must be in whole cents (got ${amount})`);
  }
  if (typeof email !== 'string' || !EMAIL.test(email)) {
    problems.push(`email must be an email address (got ${email === undefined ? 'nothing' : describe(email)})`);
  }
  if (typeof address !== 'string' || address.trim() === '') {
    problems.push(`shipping_address must be a non-empty string (got ${address === undefined ? 'nothing' : describe(address)})`);
  }
  if (payment !== undefined) {
    const card = payment && typeof payment === 'object' ? payment.card_number : undefined;
    const digits = typeof card === 'string' ? card.replace(/[\s-]/g, '') : '';
    if (!/^[0-9]{12,19}$/.test(digits) || !luhnValid(digits)) {
      problems.push(`payment.card_number must be a valid card number (got ${describe(card)})`);
    }
  }
  return problems;
}

function sameOrder(row, lines, order, amountCents) {
  const recorded = lines.map((l) => `${l.item_id}x${l.quantity}`).sort().join(',');
  const asked = order.items.map((i) => `${i.item_id}x${i.quantity}`).sort().join(',');
  return recorded === asked && row.amount_cents === amountCents && row.email === order.email
    && row.shipping_address === order.shipping_address;
}

function reserve(db, orderId, lines) {
  const take = sql(db, 'UPDATE catalogue SET stock = stock - ? WHERE item_id = ? AND stock >= ?');
  const short = [];
  for (const line of lines) {
    if (take.run(line.quantity, line.item_id, line.quantity).changes !== 1) short.push(line);
  }
  if (short.length > 0) {
    // Throwing rolls the whole transaction back: no line of the order stays reserved.
    const what = short.map((l) => `${l.item_id} (${l.name}): ${l.quantity} requested, ${l.stock} in stock`);
    throw new OutOfStockError(`Order ${orderId} cannot be filled: ${what.join('; ')}`);
  }
}

function validate(order) {
  if (order === null || typeof order !== 'object' || Array.isArray(order)) {
    throw new OrderValidationError(`The order must be a JSON object (got ${describe(order)})`);
  }
  const problems = fieldProblems(order);
  const label = typeof order.order_id === 'string' && order.order_id ? `Order ${order.order_id}` : 'The order';
  if (problems.length > 0) {
    throw new OrderValidationError(`${label} is not valid: ${problems.join('; ')}`);
  }
  const amountCents = Math.round(order.amount * 100);
  return write((db) => {
    const lookup = sql(db, 'SELECT item_id, name, price_cents, stock FROM catalogue WHERE item_id = ?');
    const lines = order.items.map((item) => ({ ...lookup.get(item.item_id), item_id: item.item_id, quantity: item.quantity }));
    const unknown = lines.filter((l) => l.price_cents === undefined).map((l) => l.item_id);
    if (unknown.length > 0) {
      throw new OrderValidationError(`${label} is not valid: unknown item${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (not in the catalogue)`);
    }
    const totalCents = lines.reduce((sum, l) => sum + l.price_cents * l.quantity, 0);
    if (totalCents !== amountCents) {
      const sum = lines.map((l) => `${l.quantity} x ${l.item_id} at ${dollars(l.price_cents)}`).join(' + ');
      throw new OrderValidationError(`${label} is not valid: amount ${dollars(amountCents)} does not match the items' total ${dollars(totalCents)} (${sum})`);
    }
    const stamp = now();
    const existing = sql(db, 'SELECT * FROM orders WHERE order_id = ?').get(order.order_id);
    if (existing) {
      const recorded = sql(db, 'SELECT item_id, quantity FROM order_items WHERE order_id = ?').all(order.order_id);
      if (!sameOrder(existing, recorded, order, amountCents)) {
        throw new OrderValidationError(`Order ${order.order_id} was already placed with different items, amount, email or address`);
      }
      if (existing.stock_state === 'released') {
        reserve(db, order.order_id, lines);
        sql(db, "UPDATE orders SET stock_state = 'reserved', status = 'VALIDATED', updated_at = ? WHERE order_id = ?")
          .run(stamp, order.order_id);
      }
    } else {
      reserve(db, order.order_id, lines);
      sql(db, `INSERT INTO orders (order_id, email, shipping_address, amount_cents, status, stock_state, created_at, updated_at)
                  VALUES (?, ?, ?, ?, 'VALIDATED', 'reserved', ?, ?)`)
        .run(order.order_id, order.email, order.shipping_address, amountCents, stamp, stamp);
      const addLine = sql(db, 'INSERT INTO order_items (order_id, line, item_id, quantity, unit_price_cents) VALUES (?, ?, ?, ?, ?)');
      lines.forEach((l, i) => addLine.run(order.order_id, i, l.item_id, l.quantity, l.price_cents));
    }
    const card = order.payment ? order.payment.card_number.replace(/[\s-]/g, '') : DEFAULT_CARD;
    return {
      order_id: order.order_id,
      status: sql(db, 'SELECT status FROM orders WHERE order_id = ?').get(order.order_id).status,
      items: lines.map((l) => ({
        item_id: l.item_id,
        name: l.name,
        quantity: l.quantity,
        unit_price: l.price_cents / 100,
        line_total: (l.price_cents * l.quantity) / 100,
      })),
      amount: amountCents / 100,
      amount_cents: amountCents,
      currency: 'USD',
      email: order.email,
      shipping_address: order.shipping_address,
      payment: { card_number: card },
    };
  });
}

exports.handler = async (event) => validate(event);
