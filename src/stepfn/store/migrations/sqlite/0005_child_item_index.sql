-- A child execution of a distributed Map records the index of the item (or batch) it
-- runs: redriving the parent redrives the unsuccessful children of the same map run,
-- and their Map puts each result back at its item's place.
ALTER TABLE executions ADD COLUMN item_index INTEGER;
