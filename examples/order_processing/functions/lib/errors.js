'use strict';
// The errors the Node functions throw. Lambda reports a thrown error's `name` as its
// errorType, and Step Functions matches Retry and Catch on it: the names are the contract.

function named(name) {
  return class extends Error {
    constructor(message) {
      super(message);
      this.name = name;
    }
  };
}

module.exports = {
  OrderValidationError: named('OrderValidationError'),
  OutOfStockError: named('OutOfStockError'),
  PaymentDeclinedError: named('PaymentDeclinedError'),
  PaymentGatewayUnavailable: named('PaymentGatewayUnavailable'),
  PaymentConflictError: named('PaymentConflictError'),
  DatabaseBusy: named('DatabaseBusy'),
};
