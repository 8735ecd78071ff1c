package io.jvhost.testing;

import io.jvhost.eal.Eal;
import io.jvhost.eal.EalConfig;

/**
 * The one EAL of the test JVM: EAL starts once per process, so every test that needs it shares
 * this one (defaults: no hugepages). It is never closed; the JVM's exit ends it.
 */
public final class SharedEal {
    private static Eal eal;

    private SharedEal() {
    }

    /** @return the running EAL, started on first use */
    public static synchronized Eal get() {
        if (eal == null) {
            eal = Eal.current().orElseGet(() -> Eal.start(EalConfig.builder().memoryMb(512).build()));
        }
        return eal;
    }
}
