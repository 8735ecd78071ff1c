package io.jvhost.internal;

/**
 * What {@link NativeEal#init} did, built in native/eal.c: rte_eal_init's result and what EAL
 * printed straight to the process's stdout and stderr meanwhile (captured, so that a refusal's
 * explanation goes into the exception rather than onto the application's console).
 *
 * @param result what rte_eal_init returned (the number of parsed arguments), or -rte_errno
 * @param stdout what EAL wrote to stdout, null if nothing
 * @param stderr what EAL wrote to stderr, null if nothing
 */
public record EalInitResult(int result, byte[] stdout, byte[] stderr) {
}
