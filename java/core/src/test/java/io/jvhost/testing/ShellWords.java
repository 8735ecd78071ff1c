package io.jvhost.testing;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a command line from the README or docs as sh would for the commands written there:
 * blanks split, single and double quotes group, a backslash-newline joins lines, a {@code #} that
 * starts a word starts a comment. Enough for the documented commands, not a shell.
 */
public final class ShellWords {
    private ShellWords() {
    }

    /**
     * @param line one command, possibly continued with backslash-newline
     * @return its words
     */
    public static List<String> split(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder w = null;
        char quote = 0;
        String text = line.replace("\\\n", " ");
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                } else {
                    w.append(c);
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
                w = w == null ? new StringBuilder() : w;
            } else if (Character.isWhitespace(c)) {
                if (w != null) {
                    words.add(w.toString());
                    w = null;
                }
            } else if (c == '#' && w == null) {
                break;
            } else {
                w = w == null ? new StringBuilder() : w;
                w.append(c);
            }
        }
        if (w != null) {
            words.add(w.toString());
        }
        return words;
    }
}
