// The bootstrap of a Node function worker: one warm sandbox, one invocation at a time.
//
// Started by stepfn.functions.worker as `node bootstrap.mjs` with the function's
// environment (_HANDLER, LAMBDA_TASK_ROOT and AWS's other reserved variables). It loads
// the handler once (Lambda's init phase), then serves invocations over stdin and stdout
// with the same framing as the Python bootstrap:
//   request:  "REQUEST_ID INVOKED_ARN REMAINING_MS PAYLOAD_LEN\n" + payload
//   init:     "I STATUS BODY_LEN\n" + body            (once; STATUS 1 = error document)
//   response: "STATUS BODY_LEN LOG_LEN MAX_MEMORY_MB\n" + body + log
// console.* and writes to process.stdout/stderr go to the invocation's log; the protocol
// writes to fd 1 directly.

import fs from "node:fs";
import path from "node:path";
import util from "node:util";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const OUT = 1;
const taskRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
const handlerSpec = process.env._HANDLER || "";

let logParts = [];
let currentRequestId = "undefined";

function logLine(level) {
  return (...args) => {
    const message = util.format(...args);
    logParts.push(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${message}\n`);
  };
}
console.log = logLine("INFO");
console.info = logLine("INFO");
console.warn = logLine("WARN");
console.error = logLine("ERROR");
console.debug = logLine("DEBUG");
console.trace = logLine("TRACE");
const captureWrite = (chunk, encoding, callback) => {
  logParts.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
  const done = typeof encoding === "function" ? encoding : callback;
  if (typeof done === "function") process.nextTick(done);
  return true;
};
process.stdout.write = captureWrite;
process.stderr.write = captureWrite;

function send(buffer) {
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(OUT, buffer, offset);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
    }
  }
}

function frame(head, ...bodies) {
  send(Buffer.concat([Buffer.from(head), ...bodies]));
}

function errorDocument(error) {
  if (error instanceof Error) {
    const type = error.name && error.name !== "Error" ? error.name : error.constructor?.name || "Error";
    return {
      errorType: type,
      errorMessage: error.message,
      trace: typeof error.stack === "string" ? error.stack.split("\n") : [],
    };
  }
  if (error !== null && typeof error === "object") {
    return {
      errorType: error.errorType || error.name || "object",
      errorMessage: error.errorMessage || error.message || JSON.stringify(error),
      trace: [],
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

function nearestType(directory) {
  // The "type" of the nearest package.json decides whether a .js file is an ES module.
  let current = directory;
  for (;;) {
    const manifest = path.join(current, "package.json");
    if (fs.existsSync(manifest)) {
      try {
        return JSON.parse(fs.readFileSync(manifest, "utf8")).type || "commonjs";
      } catch {
        return "commonjs";
      }
    }
    const parent = path.dirname(current);
    if (parent === current || !current.startsWith(taskRoot)) return "commonjs";
    current = parent;
  }
}

class InitError extends Error {
  constructor(type, message) {
    super(message);
    this.errorType = type;
  }
}

async function loadHandler(spec) {
  const slash = spec.lastIndexOf("/");
  const directory = path.resolve(taskRoot, spec.slice(0, slash + 1));
  const rest = spec.slice(slash + 1);
  const dot = rest.indexOf(".");
  if (dot < 1) {
    throw new InitError("Runtime.MalformedHandlerName", `Bad handler ${spec}`);
  }
  const moduleName = rest.slice(0, dot);
  const names = rest.slice(dot + 1).split(".");
  const require = createRequire(path.join(directory, "index.js"));
  let loaded;
  const base = path.join(directory, moduleName);
  if (fs.existsSync(base + ".mjs")) {
    loaded = await import(pathToFileURL(base + ".mjs").href);
  } else if (fs.existsSync(base + ".cjs")) {
    loaded = require(base + ".cjs");
  } else if (fs.existsSync(base + ".js")) {
    loaded =
      nearestType(directory) === "module"
        ? await import(pathToFileURL(base + ".js").href)
        : require(base + ".js");
  } else {
    try {
      loaded = require(moduleName);
    } catch (error) {
      if (error && error.code === "MODULE_NOT_FOUND") {
        throw new InitError(
          "Runtime.ImportModuleError",
          `Error: Cannot find module '${moduleName}'\nRequire stack:\n- ${import.meta.filename || "bootstrap.mjs"}`,
        );
      }
      throw error;
    }
  }
  let handler = loaded;
  for (const name of names) handler = handler == null ? undefined : handler[name];
  if (handler === undefined && loaded && loaded.default && typeof loaded.default === "object") {
    handler = names.reduce((value, name) => (value == null ? undefined : value[name]), loaded.default);
  }
  if (handler === undefined) {
    throw new InitError("Runtime.HandlerNotFound", `${rest} is undefined or not exported`);
  }
  if (typeof handler !== "function") {
    throw new InitError("Runtime.HandlerNotFound", `${rest} is not a function`);
  }
  return handler;
}

function makeContext(requestId, invokedArn, remainingMs, finish) {
  const deadline = Date.now() + remainingMs;
  const env = process.env;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: invokedArn,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    // The legacy completion methods, still honoured by AWS's runtime.
    done: (error, result) => finish(error, result),
    succeed: (result) => finish(null, result),
    fail: (error) => finish(error ?? "handled", undefined),
  };
}

function memoryMb() {
  // Peak resident memory, as Lambda's "Max Memory Used" (getrusage: cheaper than rss()).
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

let handler;
let pending = null; // the invocation in progress: {requestId, settled}

function respond(status, body) {
  const log = Buffer.from(logParts.join(""));
  logParts = [];
  frame(`${status} ${body.length} ${log.length} ${memoryMb()}\n`, body, log);
}

function finishWith(invocation, error, result) {
  if (invocation.settled) return;
  invocation.settled = true;
  pending = null;
  if (error !== undefined && error !== null) {
    respond(1, Buffer.from(JSON.stringify(errorDocument(error))));
  } else {
    let text;
    try {
      text = JSON.stringify(result === undefined ? null : result);
    } catch (marshal) {
      const document = {
        errorType: "Runtime.MarshalError",
        errorMessage: `Unable to stringify response body: ${marshal.message}`,
        trace: [],
      };
      respond(1, Buffer.from(JSON.stringify(document)));
      next();
      return;
    }
    respond(0, Buffer.from(text === undefined ? "null" : text));
  }
  next();
}

function invoke(requestId, invokedArn, remainingMs, payload) {
  currentRequestId = requestId;
  const invocation = { requestId, settled: false };
  pending = invocation;
  const finish = (error, result) => finishWith(invocation, error, result);
  const context = makeContext(requestId, invokedArn, remainingMs, finish);
  let event;
  try {
    event = JSON.parse(payload.toString("utf8"));
  } catch (error) {
    finish(error);
    return;
  }
  let returned;
  try {
    returned = handler(event, context, finish);
  } catch (error) {
    finish(error);
    return;
  }
  if (returned && typeof returned.then === "function") {
    returned.then(
      (value) => finish(null, value),
      (error) => finish(error ?? new Error("Promise rejected with " + String(error))),
    );
  } else if (handler.length < 3) {
    // A plain function that takes no callback: AWS ends it with a null result when its
    // event loop is empty (unless context.succeed/done ends it first). Ours always holds
    // the stdin pipe, so "empty" is: no more active resources than between invocations.
    whenLoopIdle(() => finish(null, null));
  }
}

let idleResources = null; // what the loop holds between invocations (the stdin pipe)

function activeResources() {
  return typeof process.getActiveResourcesInfo === "function"
    ? process.getActiveResourcesInfo().length
    : 0;
}

function whenLoopIdle(callback) {
  const check = () => {
    if (activeResources() <= idleResources) callback();
    else setTimeout(check, 1);
  };
  setImmediate(check);
}

process.on("uncaughtException", (error) => {
  if (pending) {
    finishWith(pending, error);
  }
  process.exit(129);
});
process.on("unhandledRejection", (reason) => {
  const error = {
    errorType: "Runtime.UnhandledPromiseRejection",
    errorMessage: reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason),
  };
  if (pending) finishWith(pending, error);
  process.exit(128);
});

// Framing of requests on stdin.
let chunks = [];
let buffered = 0;
let queue = [];
let busy = false;

function take(count) {
  const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered);
  const head = all.subarray(0, count);
  const tail = all.subarray(count);
  chunks = tail.length ? [tail] : [];
  buffered = tail.length;
  return head;
}

let wanted = null; // the parsed header waiting for its payload
function parse() {
  for (;;) {
    if (wanted === null) {
      const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered);
      chunks = all.length ? [all] : [];
      const newline = all.indexOf(10);
      if (newline < 0) return;
      const header = take(newline + 1).toString("latin1").trim().split(" ");
      wanted = header;
    }
    const size = Number(wanted[3]);
    if (buffered < size) return;
    const payload = take(size);
    queue.push([wanted[0], wanted[1], Number(wanted[2]), payload]);
    wanted = null;
  }
}

function next() {
  if (pending || queue.length === 0) {
    busy = false;
    return;
  }
  busy = true;
  const [requestId, invokedArn, remainingMs, payload] = queue.shift();
  invoke(requestId, invokedArn, remainingMs, payload);
}

async function main() {
  try {
    handler = await loadHandler(handlerSpec);
  } catch (error) {
    const document =
      error instanceof InitError
        ? { errorType: error.errorType, errorMessage: error.message, trace: [] }
        : errorDocument(error);
    const body = Buffer.from(JSON.stringify(document));
    frame(`I 1 ${body.length}\n`, body);
    process.exit(0);
  }
  frame("I 0 0\n");
  process.stdin.on("data", (chunk) => {
    if (idleResources === null) idleResources = activeResources();
    chunks.push(chunk);
    buffered += chunk.length;
    parse();
    if (!busy) next();
  });
  process.stdin.on("end", () => process.exit(0));
}

main();
