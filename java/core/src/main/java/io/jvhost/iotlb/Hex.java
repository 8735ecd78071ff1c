package io.jvhost.iotlb;

/** Unsigned 64-bit numbers as {@code 0x...} in lowercase without leading zeros. */
public final class Hex {
    private Hex() {
    }

    /**
     * @param value an unsigned 64-bit value
     * @return e.g. {@code 0x0}, {@code 0x1000}, {@code 0xffffffffffffffff}
     */
    public static String of(long value) {
        return "0x" + Long.toHexString(value);
    }
}
