package dev.opsmv.swap;

import java.util.List;

/** An MV as the catalog holds it now ({@link RelationCatalog}): its query (every name schema-qualified), column names, indexes. */
public record MvDefinition(String query, List<String> columns, List<IndexSpec> indexes) {
}
