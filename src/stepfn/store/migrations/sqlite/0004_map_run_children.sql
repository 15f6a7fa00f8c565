-- The items of a distributed Map become child executions (rows with a map_run_arn).
-- item_count: the items a child runs (a batch runs several), which DescribeMapRun's
-- itemCounts and ListExecutions' itemCount report. map_run_event_id: the id of the map
-- run's MapRunStarted event in the history of the execution that started it; a Map
-- that runs again (in a loop, on a retry or redrive) keeps its map run ARN, and this
-- id tells the children of its runs apart.
ALTER TABLE executions ADD COLUMN item_count INTEGER;

ALTER TABLE executions ADD COLUMN map_run_event_id INTEGER;

-- ListExecutions(mapRunArn) pages one run's children newest first, and DescribeMapRun
-- counts them: both read this index alone.
DROP INDEX executions_by_map_run;

CREATE INDEX executions_by_map_run
    ON executions (map_run_arn, map_run_event_id, start_date)
    WHERE map_run_arn IS NOT NULL;
