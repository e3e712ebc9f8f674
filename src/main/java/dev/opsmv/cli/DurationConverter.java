package dev.opsmv.cli;

import java.time.Duration;

import dev.opsmv.db.Durations;
import picocli.CommandLine;

/** Every Duration option of every command goes through the one grammar of {@link Durations}; a bad value exits 2. */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
        try {
            return Durations.parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
