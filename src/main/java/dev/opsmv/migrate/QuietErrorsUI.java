package dev.opsmv.migrate;

import liquibase.ui.ConsoleUIService;

/**
 * Liquibase's console UI without its multi-line error dump ("ERROR: Exception Details …"): the
 * runner reports every failure itself as one line. Progress messages still reach stdout.
 */
final class QuietErrorsUI extends ConsoleUIService {
    @Override
    public void sendMessage(String message) {
        // Liquibase also prints its exception dump through sendMessage ("ERROR: Exception Details", …).
        if (message != null && message.startsWith("ERROR: ")) {
            return;
        }
        super.sendMessage(message);
    }

    @Override
    public void sendErrorMessage(String message) {
        // reported by the runner
    }

    @Override
    public void sendErrorMessage(String message, Throwable exception) {
        // reported by the runner
    }
}
