-- Run hourly by aryz-vacuum (as the aryz role): close the current WAL segment and
-- checkpoint, twice, so segments holding earlier commit records (with their commit
-- times) are deleted (wal_recycle = off). The aryz role needs, once, as postgres:
--   GRANT EXECUTE ON FUNCTION pg_switch_wal() TO aryz;
--   GRANT pg_checkpoint TO aryz;
SELECT pg_switch_wal();
CHECKPOINT;
SELECT pg_switch_wal();
CHECKPOINT;
