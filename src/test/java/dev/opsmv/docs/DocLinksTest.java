package dev.opsmv.docs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Issue 29: every relative link of README.md and docs/*.md reaches a file of the repository, and an
 * anchor (#…) into a Markdown page reaches one of its headings (GitHub's slugs). Links inside code are
 * not links; http(s) and mailto links are not checked.
 */
class DocLinksTest {
    private static final Pattern LINK = Pattern.compile("\\[([^\\]]*)\\]\\(([^)\\s]+)\\)");
    private static final Pattern CODE_SPAN = Pattern.compile("`[^`]*`");

    static List<Path> pages() throws IOException {
        List<Path> pages = new ArrayList<>(List.of(Path.of("README.md")));
        try (Stream<Path> docs = Files.list(Path.of("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        return pages;
    }

    /** The lines of a Markdown page outside fenced code blocks. */
    static List<String> prose(Path page) throws IOException {
        List<String> out = new ArrayList<>();
        boolean fenced = false;
        for (String line : Files.readAllLines(page, StandardCharsets.UTF_8)) {
            if (line.strip().startsWith("```")) {
                fenced = !fenced;
            } else if (!fenced) {
                out.add(line);
            }
        }
        return out;
    }

    /** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to '-', repeats numbered. */
    static Set<String> anchors(Path page) throws IOException {
        Set<String> out = new LinkedHashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        for (String line : prose(page)) {
            Matcher h = Pattern.compile("^#{1,6} (.+)$").matcher(line);
            if (h.find()) {
                String text = LINK.matcher(h.group(1).strip()).replaceAll("$1");
                String slug = text.toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{M}\\p{N}\\p{Pc}\\- ]", "").replace(' ', '-');
                int n = seen.merge(slug, 1, Integer::sum);
                out.add(n == 1 ? slug : slug + "-" + (n - 1));
            }
        }
        return out;
    }

    @Test
    void everyRelativeLinkReachesAFileAndItsAnchorAHeading() throws IOException {
        List<String> broken = new ArrayList<>();
        Map<Path, Set<String>> anchorsOf = new HashMap<>();
        int checked = 0;
        for (Path page : pages()) {
            List<String> lines = prose(page);
            for (int i = 0; i < lines.size(); i++) {
                Matcher m = LINK.matcher(CODE_SPAN.matcher(lines.get(i)).replaceAll(""));
                while (m.find()) {
                    String target = m.group(2);
                    if (target.matches("(?i)^(https?|mailto|ftp):.*")) {
                        continue;
                    }
                    checked++;
                    int hash = target.indexOf('#');
                    String file = hash < 0 ? target : target.substring(0, hash);
                    String anchor = hash < 0 ? null : target.substring(hash + 1);
                    Path resolved = file.isEmpty() ? page : page.toAbsolutePath().getParent().resolve(file).normalize();
                    String where = page + ": [" + m.group(1) + "](" + target + ")";
                    if (!Files.exists(resolved)) {
                        broken.add(where + ": no file " + Path.of("").toAbsolutePath().relativize(resolved.toAbsolutePath()));
                        continue;
                    }
                    if (anchor != null && resolved.toString().endsWith(".md")) {
                        Set<String> known = anchorsOf.computeIfAbsent(resolved.toAbsolutePath().normalize(), p -> {
                            try {
                                return anchors(p);
                            } catch (IOException e) {
                                throw new IllegalStateException(e);
                            }
                        });
                        if (!known.contains(anchor)) {
                            broken.add(where + ": no heading with anchor #" + anchor);
                        }
                    }
                }
            }
        }
        System.out.println("[doc links] " + checked + " relative links checked in " + pages().size() + " pages");
        assertTrue(broken.isEmpty(), broken.size() + " broken link(s):\n  " + String.join("\n  ", broken));
        assertTrue(checked > 50, "the test found only " + checked + " links: is it reading the pages?");
    }
}
