package dev.opsmv;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;

/**
 * Issue 14: the layering docs/ARCHITECTURE.md describes, checked on the compiled main classes.
 * cli → capability packages → db; no cycles between packages; picocli only in cli; the endpoint
 * never reaches into the demo or the benchmark.
 */
class ArchitectureTest {
    static final String[] CAPABILITIES = {
            "dev.opsmv.migrate..", "dev.opsmv.fixture..", "dev.opsmv.health..", "dev.opsmv.verify..",
            "dev.opsmv.api..", "dev.opsmv.refresh..", "dev.opsmv.swap..", "dev.opsmv.embedded..", "dev.opsmv.demo..", "dev.opsmv.bench..",
            "dev.opsmv.retention.."};

    static JavaClasses main;

    @BeforeAll
    static void importMainClasses() {
        main = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.opsmv");
    }

    @Test
    void cliOnTopOfCapabilitiesOnTopOfDb() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("cli").definedBy("dev.opsmv.cli..")
                .layer("capabilities").definedBy(CAPABILITIES)
                .layer("db").definedBy("dev.opsmv.db..")
                .whereLayer("cli").mayNotBeAccessedByAnyLayer()
                .whereLayer("capabilities").mayOnlyBeAccessedByLayers("cli")
                .whereLayer("db").mayOnlyBeAccessedByLayers("cli", "capabilities")
                .check(main);
    }

    @Test
    void everyPackageHasItsPlaceInTheLayering() {
        // A new package outside the layers would escape the rule above without anyone noticing.
        String[] all = new String[CAPABILITIES.length + 2];
        System.arraycopy(CAPABILITIES, 0, all, 0, CAPABILITIES.length);
        all[CAPABILITIES.length] = "dev.opsmv.cli..";
        all[CAPABILITIES.length + 1] = "dev.opsmv.db..";
        classes().should().resideInAnyPackage(all)
                .because("docs/ARCHITECTURE.md places every package in cli, a capability or db")
                .check(main);
    }

    @Test
    void noCyclesBetweenPackages() {
        slices().matching("dev.opsmv.(*)..").should().beFreeOfCycles().check(main);
    }

    @Test
    void onlyCliDependsOnPicocli() {
        noClasses().that().resideOutsideOfPackage("dev.opsmv.cli..")
                .should().dependOnClassesThat().resideInAPackage("picocli..")
                .check(main);
    }

    @Test
    void theEndpointDoesNotDependOnTheDemoOrTheBenchmark() {
        noClasses().that().resideInAPackage("dev.opsmv.api..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.opsmv.bench..", "dev.opsmv.demo..")
                .check(main);
    }
}
