package io.jvhost.protocol;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A bit of a u64 feature mask: what {@link VirtioFeature} and {@link ProtocolFeature} have in
 * common.
 */
public interface FeatureBit {
    /** @return the bit number, 0 to 63 */
    int bit();

    /** @return the C name, as DPDK's headers spell it */
    String cName();

    /** @return the mask with only this bit set */
    default long mask() {
        return 1L << bit();
    }

    /**
     * @param features a feature mask
     * @return whether it has this bit
     */
    default boolean isIn(long features) {
        return (features & mask()) != 0;
    }

    /**
     * @param <F> {@link VirtioFeature} or {@link ProtocolFeature} (one mask holds one kind)
     * @param bits feature bits
     * @return the mask with their bits set
     */
    @SafeVarargs
    static <F extends Enum<F> & FeatureBit> long maskOf(F... bits) {
        long m = 0;
        for (F b : bits) {
            m |= Objects.requireNonNull(b, "feature bit").mask();
        }
        return m;
    }

    /**
     * @param <F> the enum
     * @param type {@link VirtioFeature} or {@link ProtocolFeature}
     * @param bit a bit number
     * @return the constant with that bit
     * @throws IllegalArgumentException if none has it
     */
    static <F extends Enum<F> & FeatureBit> F ofBit(Class<F> type, int bit) {
        F f = Codes.find(type.getEnumConstants(), FeatureBit::bit, bit);
        if (f == null) {
            throw new IllegalArgumentException("no " + type.getSimpleName() + " has bit " + bit);
        }
        return f;
    }

    /**
     * @param <F> the enum
     * @param type {@link VirtioFeature} or {@link ProtocolFeature}
     * @param features a feature mask
     * @return the names of its bits, lowest first; a bit {@code type} does not know as {@code bit<n>}
     */
    static <F extends Enum<F> & FeatureBit> List<String> names(Class<F> type, long features) {
        List<String> names = new ArrayList<>();
        for (int b = 0; b < 64; b++) {
            if ((features & (1L << b)) == 0) {
                continue;
            }
            F f = Codes.find(type.getEnumConstants(), FeatureBit::bit, b);
            names.add(f == null ? "bit" + b : f.name());
        }
        return names;
    }
}
