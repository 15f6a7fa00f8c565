'use strict';
// ProcessPayment: charges the order's amount to its card through a simulated gateway and
// records the charge in the ledger. The order id is the ledger's idempotency key (UNIQUE),
// so a retried or re-run payment returns the first charge and never charges twice.
//
// Test cards (the README lists them too):
//   4242424242424242  approved (the card used when the order names none)
//   4000000000000002  declined                     -> PaymentDeclinedError
//   4000000000009995  declined, insufficient funds -> PaymentDeclinedError
//   4000000000000119  gateway unavailable on the first 2 attempts for an order, then approved
//                     (attempts counted in payment_attempts)    -> PaymentGatewayUnavailable
//   4000000000000259  gateway always unavailable                -> PaymentGatewayUnavailable
// Any other valid card number is approved.

const crypto = require('crypto');
const { write, sql, now, dollars } = require('../lib/orders_db');
const { PaymentDeclinedError, PaymentGatewayUnavailable, PaymentConflictError } = require('../lib/errors');

const DECLINED = {
  '4000000000000002': 'Your card was declined.',
  '4000000000009995': 'Your card has insufficient funds.',
};
const FLAKY = { '4000000000000119': 2, '4000000000000259': Infinity };

function charged(row, replayed) {
  return {
    payment_id: row.payment_id,
    order_id: row.order_id,
    status: row.status,
    amount: row.amount_cents / 100,
    amount_cents: row.amount_cents,
    card_last4: row.card_last4,
    charged_at: row.charged_at,
    replayed,
  };
}

function charge(event) {
  const orderId = event && event.order_id;
  const card = String((event && event.card_number) || '4242424242424242').replace(/[\s-]/g, '');
  const last4 = card.slice(-4);
  // The outcome is decided and recorded in one transaction; errors are thrown after it
  // commits, so a failed attempt still counts for the cards that fail the first N times.
  const outcome = write((db) => {
    const order = sql(db, 'SELECT order_id, amount_cents, status FROM orders WHERE order_id = ?').get(orderId);
    if (!order) {
      return { error: new PaymentConflictError(`No order ${JSON.stringify(orderId)} to charge: ValidateOrder records it first`) };
    }
    if (event.amount_cents !== undefined && event.amount_cents !== order.amount_cents) {
      return { error: new PaymentConflictError(`Order ${orderId} is for ${dollars(order.amount_cents)}, not ${dollars(Number(event.amount_cents))}`) };
    }
    const attempt = sql(db, 'INSERT INTO payment_attempts (order_id, card_last4, outcome, attempted_at) VALUES (?, ?, ?, ?)');
    const stamp = now();
    const existing = sql(db, 'SELECT * FROM payments WHERE order_id = ?').get(orderId);
    if (existing) {
      attempt.run(orderId, last4, 'replayed', stamp);
      return { result: charged(existing, true) };
    }
    if (DECLINED[card]) {
      attempt.run(orderId, last4, 'declined', stamp);
      return { error: new PaymentDeclinedError(`Payment of ${dollars(order.amount_cents)} for order ${orderId} was declined (card ending ${last4}): ${DECLINED[card]}`) };
    }
    if (FLAKY[card] !== undefined) {
      const failures = sql(db, "SELECT COUNT(*) AS n FROM payment_attempts WHERE order_id = ? AND outcome = 'gateway_unavailable'").get(orderId).n;
      if (failures < FLAKY[card]) {
        attempt.run(orderId, last4, 'gateway_unavailable', stamp);
        return { error: new PaymentGatewayUnavailable(`The payment gateway did not answer for order ${orderId} (attempt ${failures + 1}); try again`) };
      }
    }
    const row = {
      payment_id: `pay_${crypto.randomUUID().replace(/-/g, '')}`,
      order_id: orderId,
      amount_cents: order.amount_cents,
      card_last4: last4,
      status: 'CHARGED',
      charged_at: stamp,
    };
    sql(db, `INSERT INTO payments (payment_id, order_id, amount_cents, card_last4, status, charged_at)
                VALUES (@payment_id, @order_id, @amount_cents, @card_last4, @status, @charged_at)`).run(row);
    attempt.run(orderId, last4, 'charged', stamp);
    sql(db, "UPDATE orders SET status = 'PAID', updated_at = ? WHERE order_id = ? AND status = 'VALIDATED'").run(stamp, orderId);
    return { result: charged(row, false) };
  });
  if (outcome.error) throw outcome.error;
  return outcome.result;
}

exports.handler = async (event) => charge(event);
