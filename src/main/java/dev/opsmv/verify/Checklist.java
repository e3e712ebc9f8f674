package dev.opsmv.verify;

import java.util.ArrayList;
import java.util.List;

/** The checks of one run, each handed to the caller's progress as it is made (a slow item prints when it ends). */
final class Checklist {
    private final Verifier.Progress progress;
    private final List<Check> checks = new ArrayList<>();

    Checklist(Verifier.Progress progress) {
        this.progress = progress;
    }

    void add(Check.Section section, boolean ok, String name, String detail) {
        add(new Check(section, ok, name, detail, false));
    }

    /** Worth doing, but fails nothing. */
    void warn(Check.Section section, String name, String detail) {
        add(new Check(section, true, name, detail, true));
    }

    private void add(Check check) {
        checks.add(check);
        progress.checked(check);
    }

    List<Check> checks() {
        return List.copyOf(checks);
    }
}
