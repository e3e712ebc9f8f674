package dev.opsmv.cli;

import java.util.List;

import picocli.CommandLine.Option;

/** --tag NAME | --count N, shared by rollback and rollback-sql (exactly one). */
final class RollbackTarget {
    @Option(names = "--tag", paramLabel = "TAG", required = true, description = "Undo every changeset applied after this tag.")
    String tag;

    @Option(names = "--count", paramLabel = "N", required = true, description = "Undo the last N changesets (N >= 1).")
    Integer count;

    /** What can be refused before connecting: a count below 1 (exit 2). */
    void checkArguments() {
        if (count != null && count < 1) {
            check(List.of(), 0);
        }
    }

    /** Fails with a usage error (exit 2) unless the target makes sense for a database holding {@code tags}. */
    void check(List<String> tags, long applied) {
        if (count != null && count < 1) {
            throw new CommandFailure(ExitCode.USAGE, "--count must be 1 or more (got " + count + ")");
        }
        if (count != null && count > applied) {
            throw new CommandFailure(ExitCode.USAGE, "--count " + count + " is more than the " + applied + " applied changeset(s)");
        }
        if (tag != null && !tags.contains(tag)) {
            throw new CommandFailure(ExitCode.USAGE, "unknown tag '" + tag + "': the database has "
                    + (tags.isEmpty() ? "no tag" : "tags " + String.join(", ", tags)));
        }
    }
}
