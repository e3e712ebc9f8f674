package dev.opsmv.cli;

import dev.opsmv.db.Sizes;
import picocli.CommandLine;

/** Size options in PostgreSQL's units ({@link Sizes}); a bad value exits 2. */
final class SizeConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        try {
            return Sizes.parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
