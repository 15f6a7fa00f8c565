// Create, start and describe an execution on a stepfn server with the AWS SDK for
// JavaScript v3, then StartSyncExecution (sent to the "sync-" host prefix unless
// disableHostPrefix is set). Usage: node smoke.mjs <endpoint URL>. Prints one JSON line.
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StartSyncExecutionCommand,
} from "@aws-sdk/client-sfn";

const endpoint = process.argv[2];
const client = new SFNClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDJSSMOKE", secretAccessKey: "js-smoke-secret" },
  disableHostPrefix: true,
  maxAttempts: 1,
});
const definition = JSON.stringify({
  StartAt: "Greet",
  States: { Greet: { Type: "Pass", Parameters: { "greeting.$": "States.Format('hello {}', $.who)" }, End: true } },
});
const role = "arn:aws:iam::123456789012:role/stepfn";
const suffix = Date.now().toString(36);

const standard = await client.send(
  new CreateStateMachineCommand({ name: `js-${suffix}`, definition, roleArn: role }),
);
const started = await client.send(
  new StartExecutionCommand({ stateMachineArn: standard.stateMachineArn, input: '{"who":"js"}' }),
);
let described;
for (let attempt = 0; attempt < 200; attempt++) {
  described = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
  if (described.status !== "RUNNING") break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const express = await client.send(
  new CreateStateMachineCommand({ name: `js-x-${suffix}`, definition, roleArn: role, type: "EXPRESS" }),
);
const sync = await client.send(
  new StartSyncExecutionCommand({ stateMachineArn: express.stateMachineArn, input: '{"who":"sync"}' }),
);
let error = null;
try {
  await client.send(new DescribeExecutionCommand({ executionArn: `${started.executionArn}-missing` }));
} catch (caught) {
  error = { name: caught.name, message: caught.message };
}
console.log(
  JSON.stringify({
    stateMachineArn: standard.stateMachineArn,
    executionArn: started.executionArn,
    startDateIsDate: started.startDate instanceof Date,
    status: described.status,
    output: described.output,
    syncStatus: sync.status,
    syncOutput: sync.output,
    error,
  }),
);
