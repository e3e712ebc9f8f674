--liquibase formatted sql

--changeset opsmv:v1.0-adoption-gate
--comment: The first update on a database the runbooks' psql scripts built. Before any object is touched: stop when an MV or view differs from the bundle or an index name is taken (the message lists each one and the choices); otherwise record what is adopted as it is (those changesets are then marked ran, not run) and build the indexes the bundle needs on adopted MVs (the psql scripts built none of the unique ones REFRESH CONCURRENTLY needs). On a database the bundle built, or an empty one, it records nothing.
SET LOCAL lock_timeout = '${lock_timeout}';
SELECT ops.opsmv_adopt_existing('${database.liquibaseSchemaName}.${database.databaseChangeLogTableName}');
--rollback SET LOCAL lock_timeout = '${lock_timeout}';
--rollback SELECT ops.opsmv_release('v1.0-adoption-gate');
