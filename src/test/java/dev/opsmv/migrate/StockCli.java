package dev.opsmv.migrate;

import dev.opsmv.db.ConnectionSpec;

/** The stock Liquibase command line of the runner's line (testing.StockCli, from target/stock-cli), for the migrate tests. */
final class StockCli {
    record Result(int exitCode, String output) {
    }

    private StockCli() {
    }

    static Result run(ConnectionSpec db, String... command) throws Exception {
        return runFrom(java.nio.file.Path.of("."), db, command);
    }

    /** With the changelog read from {@code searchPath}/changelog (a copy written by `opsmv import`). */
    static Result runFrom(java.nio.file.Path searchPath, ConnectionSpec db, String... command) throws Exception {
        dev.opsmv.testing.StockCli.Result r = dev.opsmv.testing.StockCli.runnersLine().runFrom(searchPath, db, command);
        return new Result(r.exitCode(), r.output());
    }
}
