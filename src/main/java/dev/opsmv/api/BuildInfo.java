package dev.opsmv.api;

import liquibase.util.LiquibaseUtil;

/** What /metrics reports as opsmv_build_info: the opsmv version (jar manifest; "dev" from classes), Liquibase's and Java's. */
record BuildInfo(String version, String liquibaseVersion, String javaVersion) {
    static BuildInfo current() {
        String v = ApiServer.class.getPackage().getImplementationVersion();
        String lb;
        try {
            lb = LiquibaseUtil.getBuildVersion();
        } catch (RuntimeException | LinkageError e) {
            lb = "unknown";
        }
        return new BuildInfo(v == null ? "dev" : v, lb == null ? "unknown" : lb, System.getProperty("java.version"));
    }
}
