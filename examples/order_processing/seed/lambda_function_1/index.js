'use strict';
// LambdaFunction1 of the seed's two-step machine (InvokeLambda1): checks the order's shape and
// totals its lines. It has no catalogue: prices are the seed's (item1 25.00, item2 50.50).
// Written for the seed's runtime, nodejs14.x.

const PRICES_CENTS = { item1: 2500, item2: 5050 };

function fail(message) {
  const error = new Error(message);
  error.name = 'OrderValidationError';
  return error;
}

exports.handler = async (event) => {
  const order = event || {};
  if (typeof order.order_id !== 'string' || order.order_id === '') {
    throw fail('order_id must be a non-empty string');
  }
  if (!Array.isArray(order.items) || order.items.length === 0) {
    throw fail(`Order ${order.order_id}: items must be a non-empty list`);
  }
  let totalCents = 0;
  order.items.forEach((item, i) => {
    const price = item && PRICES_CENTS[item.item_id];
    if (price === undefined) throw fail(`Order ${order.order_id}: items[${i}] is not an item we sell`);
    if (!Number.isInteger(item.quantity) || item.quantity <= 0) {
      throw fail(`Order ${order.order_id}: items[${i}].quantity must be a positive whole number`);
    }
    totalCents += price * item.quantity;
  });
  if (Math.round(Number(order.amount) * 100) !== totalCents) {
    throw fail(`Order ${order.order_id}: amount ${order.amount} does not match the items' total ${totalCents / 100}`);
  }
  return Object.assign({}, order, { validated: true, amount_cents: totalCents });
};
