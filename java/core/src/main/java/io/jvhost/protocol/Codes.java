package io.jvhost.protocol;

import java.util.function.ToIntFunction;

/** Lookups of the protocol's enums by their wire value. */
final class Codes {
    private Codes() {
    }

    /**
     * @param <E> the enum
     * @param values its constants
     * @param code the wire value of each
     * @param wanted the wire value looked for
     * @return the constant with it, or null
     */
    static <E extends Enum<E>> E find(E[] values, ToIntFunction<E> code, int wanted) {
        for (E e : values) {
            if (code.applyAsInt(e) == wanted) {
                return e;
            }
        }
        return null;
    }
}
