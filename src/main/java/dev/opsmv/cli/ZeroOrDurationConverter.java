package dev.opsmv.cli;

import java.time.Duration;

import dev.opsmv.db.Durations;
import picocli.CommandLine;

/** {@link DurationConverter}'s grammar, plus 0 for the options where zero means "none" (--max-age, --cache-staleness). */
final class ZeroOrDurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
        try {
            return Durations.parseZeroAllowed(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
