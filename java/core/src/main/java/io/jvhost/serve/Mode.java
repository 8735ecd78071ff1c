package io.jvhost.serve;

/** What {@link PortServer} does with the packets of its ports. */
public enum Mode {
    /** Each port's packets go back to it, on the same queue pair. */
    LOOPBACK,
    /** Two ports: what one receives goes out of the other, queue pair to queue pair. */
    FORWARD,
    /** Packets are counted and freed. */
    SINK,
    /** Packets of a given size are generated and sent, at a given rate or as fast as possible. */
    SOURCE
}
