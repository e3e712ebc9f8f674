package dev.opsmv.testing;

/**
 * The changelog's releases as the tests expect them: one place to change when a release is added
 * (a test that asserts "update went all the way" asserts {@link #LAST}).
 */
public final class Releases {
    /** The tag of the master changelog's last release. */
    public static final String LAST = "v1.7";
    /** What `opsmv import` names the release it writes after {@link #LAST}. */
    public static final String NEXT = "v1.8";

    private Releases() {
    }
}
