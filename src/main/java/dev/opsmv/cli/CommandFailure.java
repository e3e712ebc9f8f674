package dev.opsmv.cli;

/** A failure whose message is already the one line the user should read. */
public class CommandFailure extends RuntimeException {
    final int exitCode;

    public CommandFailure(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
