'use strict';
// Runs one Node Lambda handler once, as the Lambda Node runtime would: `node invoke_once.js
// HANDLER_FILE [EXPORT]`, the event as JSON on stdin. Prints one JSON line: {"result": ...}
// or {"errorType": ..., "errorMessage": ...} (the error's name, as Lambda reports it).

const path = require('path');

async function main() {
  const [file, exportName = 'handler'] = process.argv.slice(2);
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const event = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  const started = Date.now();
  const context = {
    functionName: path.basename(path.dirname(file)),
    awsRequestId: `harness-${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, 30000 - (Date.now() - started)),
  };
  let reply;
  try {
    const handler = require(path.resolve(file))[exportName];
    reply = { result: await handler(event, context) };
  } catch (err) {
    reply = { errorType: (err && err.name) || 'Error', errorMessage: (err && err.message) || String(err) };
  }
  process.stdout.write(`${JSON.stringify(reply === undefined ? null : reply)}\n`);
}

main();
