'use strict';
// LambdaFunction2 of the seed's two-step machine (InvokeLambda2): confirms the order that
// LambdaFunction1 validated. Written for the seed's runtime, nodejs14.x.

exports.handler = async (event) => {
  if (!event || event.validated !== true) {
    const error = new Error('Only a validated order can be confirmed (run LambdaFunction1 first)');
    error.name = 'OrderValidationError';
    throw error;
  }
  return {
    order_id: event.order_id,
    status: 'CONFIRMED',
    amount: event.amount,
    email: event.email,
    message: `Order ${event.order_id} is confirmed: ${event.items.length} line(s), ${event.amount} USD, shipping to ${event.shipping_address}.`,
  };
};
